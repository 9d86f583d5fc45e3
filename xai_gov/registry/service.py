"""Registry service: register model versions, look them up, move aliases.

Registration checks everything first (schema against background, the model's
predictions on a few background rows, the artifact's types) and only then
writes: the artifact files and one database transaction. A failure at any point
leaves the store as it was.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pandas as pd
from sqlalchemy.exc import IntegrityError as SqlIntegrityError

from xai_gov.actors import Actor
from xai_gov.audit.records import alias_pointer, resolve_verified
from xai_gov.auth.permissions import Permission, allowed, holders, require
from xai_gov.errors import Conflict, InvalidInput, NotFound, PermissionDenied, XaiGovError
from xai_gov.explain.reasons import ReasonMap
from xai_gov.lineage.models import LineageRecord
from xai_gov.policies.evaluate import PolicyViolation, check_production_lineage
from xai_gov.policies.models import Policy
from xai_gov.registry.adapters import (
    PICKLE_FORMATS,
    ModelAdapter,
    SklearnAdapter,
    adapter_from_spec,
    check_predictions,
)
from xai_gov.registry.artifacts import ArtifactStore
from xai_gov.registry.decision import DEFAULT_CUTOFF, DecisionRule, check_cutoff
from xai_gov.registry.declarations import Declarations, apply
from xai_gov.registry.models import AliasMove, ModelRef, ModelSummary, ModelVersion, check_alias, check_model_name
from xai_gov.registry.sandbox import PickledArtifact
from xai_gov.registry.schema import FeatureSchema
from xai_gov.store import ledger, repos
from xai_gov.store.db import Database
from xai_gov.timeutil import utcnow
from xai_gov.validation import check_document, check_optional_text, printable

#: A trial run of the default explanation on a version not yet written (the explanation service's).
Trial = Callable[[ModelVersion, ModelAdapter, pd.DataFrame], Any]
Adopt = Callable[[Any, ModelVersion], None]

CHECK_ROWS = 5
PRODUCTION = "production"

log = logging.getLogger(__name__)


class RegistryService:
    def __init__(self, *, database: Database, artifacts: ArtifactStore, policy: Policy | None = None,
                 reason_map: ReasonMap | None = None, sandbox_seconds: float = 60.0) -> None:
        self.database = database
        self.artifacts = artifacts
        self.policy = policy  # production alias checks and protected defaults; None: no policy applies
        self.reason_map = reason_map  # the default reason-code map, for a schema it covers
        self.trial: Trial | None = None  # set by the SDK client: one default explanation before writing
        self.adopt: Adopt | None = None
        self.sandbox_seconds = sandbox_seconds  # time limit of an uploaded pickle's first load

    # -- writes -------------------------------------------------------------

    def register(self, *, name: str, adapter: ModelAdapter, schema: FeatureSchema, background: pd.DataFrame,
                 lineage: LineageRecord, actor: Actor, description: str | None = None,
                 declarations: Declarations | None = None, cutoff: float | None = None) -> ModelVersion:
        """Check, then store a new version of ``name`` numbered one past the latest.

        Checks, in order: who registers, the classes, the declarations (protected
        features, nullable features, the reason-code map), the background against the
        schema, the model on a few background rows, the parent, and one full default
        explanation of the first background row. Only then is anything written. An
        uploaded pickle (``PickledArtifact``) runs no code until every check that does
        not need the model has passed; then it is loaded first in a separate process
        (``registry.sandbox``), and only if that answers well in this one, for the trial
        explanation (as every explanation of a joblib version loads it). A refused
        registration is a ledger event with the reason.

        ``cutoff`` is the bank's decision rule: decline when P(adverse class) >= cutoff (0 < cutoff < 1;
        default 0.5). It is stored with the version and decides every explanation of it."""
        try:
            return self._register(name=name, adapter=adapter, schema=schema, background=background, lineage=lineage,
                                  actor=actor, description=description, declarations=declarations or Declarations(),
                                  cutoff=cutoff)
        except XaiGovError as refused:
            self.record_refused_registration(actor, name, refused)
            raise

    def record_refused_registration(self, actor: Actor, name: str, error: XaiGovError) -> None:
        """A registration refused (here, or while its files were read): a ledger event with the reason. If the
        event cannot be written (the database is down), that is logged: the caller raises the refusal itself,
        which must reach the user, not the database's error."""
        try:
            self._record_refusal(actor, "model.registration_refused", printable(name, 200) or "?", error)
        except Exception:
            log.exception("a refused registration of %r could not be written to the ledger", name)

    def _register(self, *, name: str, adapter: ModelAdapter, schema: FeatureSchema, background: pd.DataFrame,
                  lineage: LineageRecord, actor: Actor, description: str | None,
                  declarations: Declarations, cutoff: float | None) -> ModelVersion:
        check_model_name(name)
        rule_cutoff = DEFAULT_CUTOFF if cutoff is None else check_cutoff(cutoff)
        _check_may_register(actor, adapter)
        check_optional_text(description, "description", max_length=2000, multiline=True)
        check_document(schema.to_dict(), "schema")
        check_document(lineage.to_dict(), "lineage")
        if not isinstance(background, pd.DataFrame) or background.empty:
            raise InvalidInput("the background sample must be a non-empty DataFrame", field="background")
        if isinstance(adapter, PickledArtifact):
            # Everything that does not need the model first (the class labels do: checked after the probe).
            unprobed = self._declared(schema, replace(declarations, class_labels=None))
            unprobed.check_frame(background, what="background sample")
            self._checked_parent(lineage)
            # Then the pickle's code runs, in a separate process, on the rows check_predictions uses below.
            adapter.seconds = self.sandbox_seconds
            adapter.probed(unprobed.from_matrix(unprobed.to_matrix(background)).head(CHECK_ROWS))
        schema = _checked_classes(schema, adapter)
        schema = self._declared(schema, declarations)
        rule = DecisionRule(adverse_class=schema.adverse_class or "", cutoff=rule_cutoff)
        schema.check_frame(background, what="background sample")
        background = schema.from_matrix(schema.to_matrix(background))  # schema's column order and types
        check_predictions(adapter, background.head(CHECK_ROWS), len(schema.class_names))
        lineage = self._checked_parent(lineage)
        if isinstance(adapter, PickledArtifact):
            adapter = adapter.loaded()  # the child loaded and ran it well: the trial explanation needs it here
        trial = None
        if self.trial is not None:
            trial = self.trial(ModelVersion(
                name=name, version=0, adapter_spec=adapter.spec(), artifact_sha256=None, schema=schema,
                background_sha256="", background_rows=len(background), description=description,
                registered_at=utcnow(), registered_by=actor.name, aliases=(), lineage=lineage, decision_rule=rule),
                adapter, background)

        dump = getattr(adapter, "dump", None)  # adapters that travel as an artifact (sklearn, MLflow pyfunc)
        artifact = dump() if callable(dump) else None
        background_bytes = background.to_csv(index=False, lineterminator="\n").encode("utf-8")
        written: list[str] = []
        try:
            artifact_sha = self._put(artifact, written) if artifact is not None else None
            background_sha = self._put(background_bytes, written)
            version = self._insert_version(
                name=name, actor=actor, adapter_spec=adapter.spec(), artifact_sha=artifact_sha,
                artifact_size=len(artifact or b""), schema=schema, background_sha=background_sha,
                background_bytes=len(background_bytes), background_rows=len(background), lineage=lineage,
                description=description, rule=rule)
        except BaseException:
            for sha in written:  # files this call created and no row refers to
                self.artifacts.discard(sha)
            raise
        if trial is not None and self.adopt is not None:
            self.adopt(trial, version)  # the explainers the trial built serve the version's first request
        return version

    def _declared(self, schema: FeatureSchema, declarations: Declarations) -> FeatureSchema:
        """The schema with the version's declarations written on it (protected, nullable, reason codes)."""
        declared = apply(schema, declarations,
                         policy_protected=self.policy.protected_features if self.policy else (),
                         default_reasons=self.reason_map or ReasonMap({}, "no default map"))
        check_document(declared.to_dict(), "schema")  # with the declarations: reason texts, labels
        return declared

    def _put(self, data: bytes, written: list[str]) -> str:
        sha, is_new = self.artifacts.put(data)
        if is_new:
            written.append(sha)
        return sha

    def _insert_version(self, *, name: str, actor: Actor, adapter_spec: dict[str, Any], artifact_sha: str | None,
                        artifact_size: int, schema: FeatureSchema, background_sha: str, background_bytes: int,
                        background_rows: int, lineage: LineageRecord, description: str | None,
                        rule: DecisionRule) -> ModelVersion:
        # The transaction is serialised with every other ledger writer, so the model row and the next
        # version number are read and written at once; the unique constraint and a retry stay as a net.
        for attempt in range(5):
            try:
                with self.database.session(serialised=True) as session:
                    if artifact_sha is not None:
                        repos.ensure_artifact(session, sha256=artifact_sha, kind="model",
                                              media_type=f"application/x-{adapter_spec['serialization']}",
                                              size=artifact_size)
                    repos.ensure_artifact(session, sha256=background_sha, kind="background", media_type="text/csv",
                                          size=background_bytes)
                    version = repos.add_version(
                        session, name=name, adapter_spec=adapter_spec, artifact_sha256=artifact_sha, schema=schema,
                        background_sha256=background_sha, background_rows=background_rows, description=description,
                        actor=actor.name, lineage=lineage, decision_rule=rule)
                    ledger.append(session, actor=actor.name, action="model.registered", subject=version.ref,
                                  payload=ledger.record_payload(version.record()))
                    return version
            except SqlIntegrityError:
                if attempt == 4:
                    raise Conflict(f"could not number a new version of {name!r}: too many concurrent registrations",
                                   field="name") from None
        raise AssertionError("unreachable")

    def move_alias(self, *, name: str, alias: str, version: int, actor: Actor) -> AliasMove:
        """Point ``name@alias`` at ``version``; the move is recorded with who and when.

        ``production`` takes only a version the policy allows there (lineage, clean code, a second
        person's approval); a refused attempt is itself a ledger event, with its reasons.
        """
        check_model_name(name)
        check_alias(alias)
        subject = f"{name}@{alias}"
        try:
            require(actor, Permission.WRITE_MODELS)
            # The production check reads the lineage and approval under the same lock as the move.
            with self.database.session() as session:
                # The ledger's lock first: moves then happen in the order of their events, so the last event's
                # pointer is the alias's pointer (and two first moves of one alias cannot both insert it).
                ledger.lock(session)
                if alias == PRODUCTION and self.policy is not None:
                    target = repos.get_version(session, ModelRef(name, version=version))
                    check_production_lineage(self.policy, target.ref, target.lineage)
                move = repos.move_alias(session, name=name, alias=alias, version=version, actor=actor.name)
                # The event carries the pointer the move set: verify and every resolution compare the alias with it.
                recorded = repos.alias_move_payload(session, move.id or 0)
                pointer = alias_pointer(session, repos.alias_target_id(session, name=name, alias=alias))
                ledger.append(session, actor=actor.name, action="alias.moved", subject=subject,
                              payload={**recorded, "pointer": pointer})
                return move
        except (PermissionDenied, PolicyViolation) as refused:
            if alias == PRODUCTION:
                self._record_refusal(actor, "alias.refused", subject, refused, to_version=version)
            raise

    def approve(self, ref: str | ModelRef, *, actor: Actor, note: str | None = None) -> ModelVersion:
        """A second person approves a version for production: an owner or approver who did not register it.

        The approver is recorded in the version's lineage and the approval is a ledger event; a refused
        attempt (wrong role, the registrant, already approved) is a ledger event too, with the reason.
        """
        parsed = ModelRef.parse(ref) if isinstance(ref, str) else ref
        check_optional_text(note, "note", max_length=2000, multiline=True)
        with self.database.session() as session:
            version = repos.get_version(session, parsed)
        try:
            if not allowed(actor, Permission.APPROVE_MODELS):
                raise PermissionDenied(f"{actor.name} ({actor.role.value}) may not approve model versions",
                                       field="role")
            if same_person(actor.name, version.registered_by):
                raise PermissionDenied(f"{actor.name} registered {version.ref}: a second person must approve it",
                                       code="self_approval", field="approver")
            with self.database.session(serialised=True) as session:  # two approvals at once: one wins
                pinned = ModelRef(version.name, version=version.version)
                current = repos.get_version(session, pinned)
                if current.lineage.approver:
                    raise Conflict(f"{current.ref} was already approved by {current.lineage.approver}",
                                   code="already_approved", field="approver")
                approved = repos.set_approver(session, pinned, approver=actor.name)
                ledger.append(session, actor=actor.name, action="model.approved", subject=approved.ref,
                              payload={"approver": actor.name, "role": actor.role.value,
                                       "registered_by": approved.registered_by, "note": note})
                return approved
        except (PermissionDenied, Conflict) as refused:
            self._record_refusal(actor, "model.approval_refused", version.ref, refused)
            raise

    def _record_refusal(self, actor: Actor, action: str, subject: str, error: XaiGovError, **extra: Any) -> None:
        """A refused governance attempt, in the ledger with its reasons (its own transaction: the
        attempt's was rolled back)."""
        reasons = getattr(error, "reasons", ()) or ((error.field, error.message),)
        with self.database.session() as session:
            ledger.append(session, actor=actor.name, action=action, subject=subject,
                          payload={"code": error.code, "message": error.message, "role": actor.role.value,
                                   "reasons": [{"field": f, "reason": r} for f, r in reasons], **extra})

    # -- reads --------------------------------------------------------------

    def get(self, ref: str | ModelRef) -> ModelVersion:
        parsed = ModelRef.parse(ref) if isinstance(ref, str) else ref
        with self.database.session() as session:
            return repos.get_version(session, parsed)

    def get_verified(self, ref: str | ModelRef) -> ModelVersion:
        """Like ``get``, but through the ledger: a pointer or row changed outside it raises IntegrityError."""
        parsed = ModelRef.parse(ref) if isinstance(ref, str) else ref
        with self.database.session() as session:
            return resolve_verified(session, parsed)

    def check_files(self, version: ModelVersion) -> None:
        """The version's files still hash as stored (re-hashed only when a file's metadata changed)."""
        for sha in (version.artifact_sha256, version.background_sha256):
            if sha is not None:
                self.artifacts.check(sha)

    def list_models(self) -> list[ModelSummary]:
        with self.database.session() as session:
            return repos.list_models(session)

    def list_versions(self, name: str) -> list[ModelVersion]:
        with self.database.session() as session:
            return repos.list_versions(session, check_model_name(name))

    def alias_history(self, name: str) -> list[AliasMove]:
        with self.database.session() as session:
            return repos.alias_history(session, check_model_name(name))

    def load_adapter(self, version: ModelVersion, *, headers: dict[str, str] | None = None) -> ModelAdapter:
        """The version's predict function; an artifact is hash-checked on every load."""
        artifact = self.artifacts.get(version.artifact_sha256) if version.artifact_sha256 else None
        return adapter_from_spec(version.adapter_spec, artifact, headers=headers)

    def load_background(self, version: ModelVersion) -> pd.DataFrame:
        """The stored background sample, hash-checked, in the schema's native types."""
        return version.schema.read_background(self.artifacts.get(version.background_sha256))

    # -- helpers ------------------------------------------------------------

    def _checked_parent(self, lineage: LineageRecord) -> LineageRecord:
        if lineage.parent_version is None:
            return lineage
        try:
            parent = self.get(lineage.parent_version)
        except NotFound as error:
            raise NotFound(f"parent version {lineage.parent_version}: {error.message}", code=error.code,
                           field="parent_version") from error
        return replace(lineage, parent_version=parent.ref)  # an alias is pinned to the version it meant


def same_person(actor: str, registrant: str) -> bool:
    """Whether two actor names are one person: an API key's actor is "name (prefix)", so one person's
    two keys are still one person."""
    def person(name: str) -> str:
        return re.sub(r" \([a-z0-9]{8}\)$", "", name).strip().casefold()

    return person(actor) == person(registrant)


def _check_may_register(actor: Actor, adapter: ModelAdapter) -> None:
    require(actor, Permission.WRITE_MODELS)
    if allowed(actor, Permission.REGISTER_CODE_ARTIFACTS):
        return
    if isinstance(adapter, SklearnAdapter) and adapter.serialization in PICKLE_FORMATS:
        runs_code = f"a {adapter.serialization} artifact"
    elif adapter.loads_pickles():
        runs_code = f"a {adapter.kind} model"
    else:
        return
    raise PermissionDenied(f"{runs_code} runs arbitrary code when loaded: only "
                           f"{holders(Permission.REGISTER_CODE_ARTIFACTS)} may register one ({actor.name} is "
                           f"{actor.role.value})", field="serialization")


def _checked_classes(schema: FeatureSchema, adapter: ModelAdapter) -> FeatureSchema:
    model_classes = adapter.class_names()
    if model_classes is not None:
        if schema.class_names and tuple(schema.class_names) != model_classes:
            raise InvalidInput(f"the schema's classes {list(schema.class_names)} differ from the model's "
                               f"{list(model_classes)} (order matters: it is predict_proba's column order)",
                               field="class_names")
        schema = schema.with_classes(model_classes, schema.adverse_class)
    if len(schema.class_names) < 2:
        raise InvalidInput("name the model's classes (at least two, in predict_proba's column order)",
                           field="class_names")
    if schema.adverse_class is None:
        raise InvalidInput(f"name the adverse class, the outcome that needs reasons: one of {list(schema.class_names)}",
                           field="adverse_class")
    if schema.adverse_class not in schema.class_names:
        raise InvalidInput(f"adverse class {schema.adverse_class!r} is not one of {list(schema.class_names)}",
                           field="adverse_class")
    return schema
