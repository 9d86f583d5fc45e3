"""``xai-gov register`` and ``xai-gov models ...``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from xai_gov.actors import Role
from xai_gov.cli.lineage import show_lineage
from xai_gov.cli.output import JsonFlag, console, fields, print_json, run, table, when
from xai_gov.cli.state import state
from xai_gov.errors import InvalidInput, XaiGovError
from xai_gov.lineage.capture import build_lineage
from xai_gov.lineage.datahash import hash_file, read_table
from xai_gov.lineage.service import normalise_data_hash
from xai_gov.registry.decision import check_cutoff
from xai_gov.registry.declarations import Declarations
from xai_gov.registry.files import read_bytes, read_json_object, read_schema
from xai_gov.registry.intake import ModelSource, Registration, parse_class_labels
from xai_gov.registry.intake import register as register_version
from xai_gov.registry.models import ModelVersion
from xai_gov.timeutil import parse_utc

models_app = typer.Typer(help="Registered models: list, show, aliases.", no_args_is_help=True)


# What a registration declares besides its files (xai_gov.registry.declarations), as `register` and
# `import mlflow` both take it.
ProtectedOption = Annotated[str | None, typer.Option(
    "--protected", help="Protected features, comma-separated: never a reason.")]
NotProtectedOption = Annotated[str | None, typer.Option(
    "--not-protected", help="Features that look protected but are not, comma-separated.")]
NullableOption = Annotated[str | None, typer.Option(
    "--nullable", help="Features that may be missing, comma-separated.")]
ReasonCodesOption = Annotated[Path | None, typer.Option(
    "--reason-codes", help="Reason-code map (YAML/JSON): a statement per feature, or never_reason.")]
ProtectedOverrideOption = Annotated[str | None, typer.Option(
    "--protected-override",
    help="Why features that look protected are left undeclared (recorded; they stay withheld).")]
ClassLabelOption = Annotated[list[str] | None, typer.Option(
    "--class-label", help="Display name of a class, CLASS=NAME, e.g. 1=defaulted (repeatable).")]
ImmutableOption = Annotated[str | None, typer.Option(
    "--immutable", help="Features counterfactual recourse never changes, comma-separated (protected ones never do).")]
MonotoneOption = Annotated[str | None, typer.Option(
    "--monotone", help="Numbers recourse moves one way only: FEATURE=increasing|decreasing, comma-separated.")]
CutoffOption = Annotated[float | None, typer.Option(
    "--cutoff", help="Decision rule: decline when P(adverse class) >= this (0 < cutoff < 1; default 0.5).")]


def register(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Model name, e.g. credit-risk.")],
    background: Annotated[Path, typer.Option(help="Background sample of the training data (CSV), features only.")],
    schema: Annotated[Path, typer.Option(help="Feature schema JSON (xai-gov schema infer writes one).")],
    artifact: Annotated[Path | None, typer.Option(help="Saved scikit-learn model (.skops or joblib).")] = None,
    artifact_format: Annotated[str, typer.Option("--format", help="skops (default) or joblib.")] = "skops",
    trust: Annotated[list[str] | None, typer.Option(help="A skops type you reviewed and trust (repeatable).")]
    = None,
    python: Annotated[str | None, typer.Option(help="Import path package.module:function.")] = None,
    http: Annotated[str | None, typer.Option(help="URL of a served model.")] = None,
    protocol: Annotated[str, typer.Option(help="HTTP protocol: mlflow, kserve or json.")] = "json",
    batch_size: Annotated[int, typer.Option(help="At most this many rows per HTTP request.")] = 100_000,
    timeout: Annotated[float, typer.Option(help="Seconds per HTTP request.")] = 30.0,
    retries: Annotated[int, typer.Option(help="Retries of a failed HTTP request.")] = 2,
    class_names: Annotated[str | None, typer.Option(help="Classes in predict_proba order, comma-separated.")]
    = None,
    adverse_class: Annotated[str | None, typer.Option(help="The outcome that needs reasons.")] = None,
    training_data: Annotated[Path | None, typer.Option(help="Training data file (CSV/Parquet) to hash.")] = None,
    data_hash: Annotated[str | None, typer.Option(help="Training-data hash, if the file is not at hand.")] = None,
    data_rows: Annotated[int | None, typer.Option(help="Training rows, with --data-hash.")] = None,
    data_source: Annotated[str | None, typer.Option(help="Where the training data lives (URI).")] = None,
    data_version: Annotated[str | None, typer.Option(help="Any data-version string: DVC md5, lakeFS commit, "
                                                          "Delta version (next to the canonical hash).")] = None,
    trainer: Annotated[str | None, typer.Option(help="Who trained the model.")] = None,
    code_path: Annotated[Path | None, typer.Option(help="Git checkout of the training code.")] = Path("."),
    repository: Annotated[str | None, typer.Option(help="Code repository URL (else read from git).")] = None,
    commit: Annotated[str | None, typer.Option(help="Code commit (else read from git).")] = None,
    started: Annotated[str | None, typer.Option(help="Training start, ISO 8601 (UTC if no zone).")] = None,
    ended: Annotated[str | None, typer.Option(help="Training end, ISO 8601.")] = None,
    hyperparameters: Annotated[Path | None, typer.Option(help="JSON file of hyperparameters.")] = None,
    seeds: Annotated[Path | None, typer.Option(help="JSON file of seeds.")] = None,
    metrics: Annotated[Path | None, typer.Option(help="JSON file of metrics.")] = None,
    parent: Annotated[str | None, typer.Option(help="Parent version, e.g. credit-risk@1.")] = None,
    description: Annotated[str | None, typer.Option(help="What this version is for.")] = None,
    alias: Annotated[str | None, typer.Option(help="Point this alias at the new version.")] = None,
    protected: ProtectedOption = None,
    not_protected: NotProtectedOption = None,
    nullable: NullableOption = None,
    reason_codes: ReasonCodesOption = None,
    protected_override: ProtectedOverrideOption = None,
    class_label: ClassLabelOption = None,
    cutoff: CutoffOption = None,
    immutable: ImmutableOption = None,
    monotone: MonotoneOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Register a model version from files, with its lineage and decision rule."""

    def action() -> ModelVersion:
        owner, registry = state(ctx).actor(Role.OWNER), state(ctx).client().registry
        try:
            registration = read_registration()
        except XaiGovError as refused:  # refused before the registry saw it: ledgered as the API ledgers it
            registry.record_refused_registration(owner, name, refused)
            raise
        return register_version(registry, registration, actor=owner)

    def read_registration() -> Registration:
        if cutoff is not None:
            check_cutoff(cutoff)  # before any file is read: the rule is the first thing named
        source = ModelSource(artifact=read_bytes(artifact, field="artifact") if artifact else None,
                             serialization=artifact_format, trusted_types=tuple(trust or ()), python=python, http=http,
                             protocol=protocol, batch_size=batch_size, timeout=timeout, retries=retries)
        adapter = source.adapter()
        feature_schema = read_schema(schema)
        sample = read_table(background)
        digest, rows = _training_data(training_data, data_hash, data_rows)
        lineage = build_lineage(
            data_sha256=digest, data_rows=rows, data_source_uri=data_source or (str(training_data)
                                                                                if training_data else None),
            code_path=code_path, repository_url=repository, commit=commit, trainer=trainer,
            training_started_at=parse_utc(started, field="started"), training_ended_at=parse_utc(ended, field="ended"),
            hyperparameters=read_json_object(hyperparameters, field="hyperparameters"),
            seeds=read_json_object(seeds, field="seeds"), metrics=read_json_object(metrics, field="metrics"),
            parent_version=parent, data_version=data_version, data_file=training_data,
        )
        declarations = Declarations.build(
            protected=protected, not_protected=not_protected, nullable=nullable, reason_codes=reason_codes,
            protected_override=protected_override, class_labels=parse_class_labels(class_label or []),
            immutable=immutable, monotone=monotone)
        return Registration(
            name=name, adapter=adapter, schema=feature_schema, background=sample, lineage=lineage,
            declarations=declarations, description=description, alias=alias, cutoff=cutoff,
            class_names=[c.strip() for c in class_names.split(",")] if class_names else None,
            adverse_class=adverse_class)

    version = run(action)
    if as_json:
        print_json(version.to_dict())
    else:
        console.print(f"registered [bold]{version.ref}[/bold]" + (f" ({', '.join(version.aliases)})"
                                                                  if version.aliases else ""))
        show_version(version)


def _training_data(path: Path | None, digest: str | None, rows: int | None) -> tuple[str | None, int | None]:
    if path is not None and digest is not None:
        raise InvalidInput("give --training-data or --data-hash, not both", field="data_hash")
    if path is not None:
        return hash_file(path), len(read_table(path))
    return (normalise_data_hash(digest) if digest else None), rows



@models_app.command("list")
def list_models(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Every registered model with its latest version and aliases."""
    summaries = run(lambda: state(ctx).client().list_models())
    if as_json:
        print_json([s.to_dict() for s in summaries])
        return
    table("Registered models", ["model", "latest", "versions", "aliases", "created", "by"], [
        (s.name, s.latest_version, s.version_count, ", ".join(f"{a}->{v}" for a, v in sorted(s.aliases.items())),
         when(s.created_at), s.created_by) for s in summaries])


@models_app.command("show")
def show(ctx: typer.Context, ref: Annotated[str, typer.Argument(help="name@version, name@alias or name.")],
         as_json: JsonFlag = False) -> None:
    """One model version: adapter, schema, background, lineage."""
    version = run(lambda: state(ctx).client().get_model(ref))
    if as_json:
        print_json(version.to_dict())
    else:
        show_version(version)


@models_app.command("alias")
def move_alias(ctx: typer.Context, name: str, alias: str, version: int, as_json: JsonFlag = False) -> None:
    """Point NAME@ALIAS at VERSION (recorded with who and when)."""
    move = run(lambda: state(ctx).client().move_alias(name, alias, version,
                                                           actor=state(ctx).actor(Role.OWNER)))
    if as_json:
        print_json(move.to_dict())
    else:
        was = f" (was {move.from_version})" if move.from_version is not None else ""
        console.print(f"{name}@{alias} -> {move.to_version}{was}, by {move.actor} at {when(move.moved_at)}")


@models_app.command("approve")
def approve(ctx: typer.Context, ref: Annotated[str, typer.Argument(help="name@version (or name@alias).")],
            note: Annotated[str | None, typer.Option(help="Why, for the record.")] = None,
            as_json: JsonFlag = False) -> None:
    """Approve REF for production as the second person: not the one who registered it."""
    version = run(lambda: state(ctx).client().approve(ref, note=note, actor=state(ctx).actor(Role.OWNER)))
    if as_json:
        print_json(version.to_dict())
    else:
        console.print(f"{version.ref} approved by {version.lineage.approver} (registered by {version.registered_by})")


@models_app.command("history")
def alias_history(ctx: typer.Context, name: str, as_json: JsonFlag = False) -> None:
    """Every alias move of a model."""
    moves = run(lambda: state(ctx).client().alias_history(name))
    if as_json:
        print_json([m.to_dict() for m in moves])
        return
    table(f"Alias moves of {name}", ["alias", "from", "to", "by", "at"],
          [(m.alias, m.from_version, m.to_version, m.actor, when(m.moved_at)) for m in moves])


def recourse_declarations(version: ModelVersion) -> str:
    """What counterfactual recourse may not change, and which numbers move one way only."""
    features = version.schema.features
    immutable = ", ".join(f.name for f in features if f.actionable is False) or "-"
    monotone = ", ".join(f"{f.name} ({f.monotone})" for f in features if f.monotone) or "-"
    return f"immutable: {immutable}; monotone: {monotone}; protected features never change"


def show_version(version: ModelVersion) -> None:
    lineage = version.lineage
    adapter = version.adapter_spec
    fields(f"Model version {version.ref}", [
        ("aliases", ", ".join(version.aliases) or "-"),
        ("adapter", ", ".join(f"{k}={v}" for k, v in adapter.items() if v not in (None, [], ""))),
        ("artifact sha256", version.artifact_sha256 or "-"),
        ("classes", f"{', '.join(map(version.schema.class_label, version.schema.class_names))} "
                    f"(adverse: {version.schema.class_label(version.schema.adverse_class or '')})"),
        ("decision rule", version.rule.describe() + ("" if version.decision_rule else
                                                     " (none registered: the default)")),
        ("features", f"{len(version.schema.features)}: " + ", ".join(version.schema.names)),
        ("protected", ", ".join(f.name for f in version.schema.features if f.protected) or "-"),
        ("nullable", ", ".join(f.name for f in version.schema.features if f.nullable) or "-"),
        ("recourse", recourse_declarations(version)),
        ("reason codes", str((version.schema.reason_codes or {}).get("source", "the default map"))),
        ("background", f"{version.background_rows} rows, sha256 {version.background_sha256}"),
        ("registered", f"{when(version.registered_at)} by {version.registered_by}"),
        ("description", version.description or "-"),
    ])
    show_lineage(lineage, title=f"Lineage of {version.ref}")
