"""Model versions: register (owner, multipart), list, get, move an alias."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Response, UploadFile

from api.deps import ClientDep, JsonBody, ModelReader, ModelWriter, current_actor, pdf_response
from api.schemas.common import AliasName, ModelName, ModelRefPath
from api.schemas.models import AliasIn, AliasMoveOut, ApprovalIn, MlflowImportIn, ModelSummaryOut, ModelVersionOut
from xai_gov.actors import Actor
from xai_gov.errors import XaiGovError
from xai_gov.registry.declarations import Declarations
from xai_gov.registry.intake import (
    ModelSource,
    Registration,
    background_from_rows,
    lineage_from_document,
    parse_background,
    parse_class_labels,
    parse_lineage,
    parse_reason_codes,
    parse_schema,
    register,
    schema_from_document,
)
from xai_gov.registry.models import ALIAS_PATTERN, NAME_PATTERN
from xai_gov.validation import MULTILINE_PATTERN, TEXT_PATTERN

router = APIRouter(prefix="/v1/models", tags=["models"])


@router.post("", status_code=201, response_model=ModelVersionOut, summary="Register a model version (owner).",
             description="Multipart form: the model as one of `artifact` (a skops or joblib file), `python` (an "
                         "import path) or `http` (a served model's URL); `background` (CSV of training rows, "
                         "features only); `schema` (feature schema JSON); `lineage` (JSON: trainer, commit, "
                         "repository, training_started_at, training_ended_at, hyperparameters, seeds, metrics, "
                         "data_sha256, data_rows, data_source_uri, parent_version); `cutoff` (the decision rule: "
                         "decline when P(adverse class) >= cutoff). Declared with the version: "
                         "`protected` / `not_protected` / `nullable` (comma-separated feature names), "
                         "`reason_codes` (YAML/JSON file), `protected_override` (why), `class_labels`, and for "
                         "counterfactual recourse `immutable` (comma-separated) and `monotone` "
                         "(FEATURE=increasing|decreasing). The training "
                         "environment is what the client sends as `environment` in the lineage "
                         "(`xai_gov.capture_environment()` on the training machine), else recorded as missing — "
                         "never the server's.")
def register_model(
    client: ClientDep, owner: ModelWriter,
    name: Annotated[str, Form(min_length=1, max_length=200, pattern=NAME_PATTERN, examples=["credit-risk"])],
    background: Annotated[UploadFile, File(description="Background sample, CSV")],
    schema_file: Annotated[UploadFile, File(alias="schema", description="Feature schema, JSON")],
    artifact: Annotated[UploadFile | None, File(description="skops or joblib file")] = None,
    lineage: Annotated[UploadFile | None, File(description="Lineage, JSON")] = None,
    format: Annotated[str, Form(pattern="^(skops|joblib)$")] = "skops",
    trusted_types: Annotated[str, Form(max_length=5000, pattern=TEXT_PATTERN,
                                       description="Comma-separated skops types you trust")] = "",
    python: Annotated[str | None, Form(max_length=300, pattern=TEXT_PATTERN)] = None,
    http: Annotated[str | None, Form(max_length=2000, pattern=TEXT_PATTERN)] = None,
    protocol: Annotated[str, Form(pattern="^(mlflow|kserve|json)$")] = "json",
    alias: Annotated[str | None, Form(max_length=100, pattern=ALIAS_PATTERN)] = None,
    description: Annotated[str | None, Form(max_length=2000, pattern=MULTILINE_PATTERN)] = None,
    protected: Annotated[str | None, Form(max_length=4000, pattern=TEXT_PATTERN,
                                          description="Protected features, comma-separated")] = None,
    not_protected: Annotated[str | None, Form(max_length=4000, pattern=TEXT_PATTERN,
                                              description="Features that look protected but are not, "
                                                          "comma-separated")] = None,
    nullable: Annotated[str | None, Form(max_length=4000, pattern=TEXT_PATTERN,
                                         description="Features that may be missing")] = None,
    reason_codes: Annotated[UploadFile | None, File(description="Reason-code map, YAML or JSON")] = None,
    protected_override: Annotated[str | None, Form(max_length=2000, pattern=MULTILINE_PATTERN,
                                                   description="Why features that look protected are "
                                                               "undeclared")] = None,
    class_labels: Annotated[str | None, Form(max_length=2000, pattern=TEXT_PATTERN,
                                             description="0=repaid,1=defaulted or JSON")] = None,
    cutoff: Annotated[float | None, Form(description="Decline when P(adverse class) >= cutoff; 0 < cutoff < 1, "
                                                     "default 0.5")] = None,
    immutable: Annotated[str | None, Form(max_length=4000, pattern=TEXT_PATTERN,
                                          description="Features counterfactual recourse never changes, "
                                                      "comma-separated")] = None,
    monotone: Annotated[str | None, Form(max_length=4000, pattern=TEXT_PATTERN,
                                         description="Numbers recourse moves one way only: "
                                                     "FEATURE=increasing|decreasing, comma-separated")] = None,
) -> ModelVersionOut:
    try:
        source = ModelSource(artifact=artifact.file.read() if artifact else None, serialization=format,
                             trusted_types=tuple(t.strip() for t in trusted_types.split(",") if t.strip()),
                             python=python, http=http, protocol=protocol)
        adapter, schema = source.adapter(), parse_schema(schema_file.file.read(), source="schema")
        frame = parse_background(background.file.read())
        recorded = lineage_from_document(parse_lineage(lineage.file.read() if lineage else None),
                                         capture_environment=False)
        declarations = Declarations.build(
            protected=protected, not_protected=not_protected, nullable=nullable,
            reason_codes=parse_reason_codes(reason_codes.file.read() if reason_codes else None),
            protected_override=protected_override, class_labels=parse_class_labels(class_labels),
            immutable=immutable, monotone=monotone)
    except XaiGovError as refused:  # the files did not parse: refused before the registry saw them
        client.registry.record_refused_registration(owner, name, refused)
        raise
    version = register(client.registry, Registration(
        name=name, adapter=adapter, schema=schema, background=frame, lineage=recorded, declarations=declarations,
        description=description, alias=alias, cutoff=cutoff), actor=owner)
    return ModelVersionOut.from_domain(version)


@router.post("/import/mlflow", status_code=201, response_model=ModelVersionOut, dependencies=[JsonBody],
             summary="Import a model version from MLflow, with its run's lineage (owner).")
def import_mlflow(body: MlflowImportIn, client: ClientDep, owner: ModelWriter) -> ModelVersionOut:
    version = client.import_mlflow(
        body.model_uri, tracking_uri=body.tracking_uri, name=body.name, adverse_class=body.adverse_class,
        class_names=body.class_names, flavour=body.flavour, trusted_types=body.trusted_types,
        serve_url=body.serve_url, background=background_from_rows(body.background),
        schema=schema_from_document(body.schema_), target=body.target, data_version=body.data_version,
        parent_version=body.parent_version, description=body.description, alias=body.alias, actor=owner,
        protected=body.protected, not_protected=body.not_protected, nullable=body.nullable,
        reason_codes=body.reason_codes, protected_override=body.protected_override,
        class_labels=body.class_labels, cutoff=body.cutoff, immutable=body.immutable, monotone=body.monotone)
    return ModelVersionOut.from_domain(version)


@router.get("", response_model=list[ModelSummaryOut], summary="Every registered model.")
def list_models(client: ClientDep, _: ModelReader) -> list[ModelSummaryOut]:
    return [ModelSummaryOut.from_domain(s) for s in client.list_models()]


@router.get("/{ref}", response_model=ModelVersionOut, summary="One version: name@version, name@alias or name.")
def get_model(ref: ModelRefPath, client: ClientDep, _: ModelReader) -> ModelVersionOut:
    return ModelVersionOut.from_domain(client.get_model(ref))


@router.put("/{name}/aliases/{alias}", response_model=AliasMoveOut, summary="Point an alias at a version (owner).",
            dependencies=[JsonBody])
def move_alias(name: ModelName, alias: AliasName, body: AliasIn, client: ClientDep, owner: ModelWriter) -> AliasMoveOut:
    return AliasMoveOut.from_domain(client.move_alias(name, alias, body.version, actor=owner))


@router.post("/{ref}/approval", response_model=ModelVersionOut, dependencies=[JsonBody],
             summary="Approve a version for production (the second person: an owner or approver who did "
                     "not register it).",
             description="Records the approver in the version's lineage and the approval in the ledger. A refused "
                         "attempt (another role, the registrant, already approved) is a ledger event too.")
def approve(ref: ModelRefPath, body: ApprovalIn, client: ClientDep,
            actor: Annotated[Actor, Depends(current_actor)]) -> ModelVersionOut:
    # Any authenticated caller reaches the core, which checks the role, so a refusal is recorded too.
    return ModelVersionOut.from_domain(client.registry.approve(ref, actor=actor, note=body.note))


@router.get("/{ref}/packet", response_class=Response, summary="The model-version packet (PDF, auditor).",
            responses={200: {"content": {"application/pdf": {}}, "description": "The model-version packet"}})
def model_packet(ref: ModelRefPath, client: ClientDep, reader: ModelReader) -> Response:
    return pdf_response(client.packets.model(ref, actor=reader), f"model-{ref.replace('@', '-')}.pdf")
