"""Repositories: every query of the registry and lineage tables. They return domain objects only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from xai_gov.errors import Conflict, NotFound
from xai_gov.explain.records import ExplanationRecord
from xai_gov.lineage.models import LINEAGE_FIELDS, LineageRecord, LineageView, external_fields
from xai_gov.registry.decision import DecisionRule
from xai_gov.registry.models import AliasMove, ModelRef, ModelSummary, ModelVersion
from xai_gov.registry.schema import FeatureSchema
from xai_gov.store.orm import (
    AliasEventRow,
    AliasRow,
    ArtifactRow,
    ExplanationRow,
    LineageDataRefRow,
    LineageRow,
    ModelVersionRow,
    RegisteredModelRow,
)
from xai_gov.timeutil import format_utc, utcnow

# -- artifacts --------------------------------------------------------------------


def ensure_artifact(session: Session, *, sha256: str, kind: str, media_type: str, size: int) -> None:
    if session.get(ArtifactRow, sha256) is None:
        session.add(ArtifactRow(sha256=sha256, kind=kind, media_type=media_type, size=size, created_at=utcnow()))
        session.flush()


# -- models and versions ----------------------------------------------------------


def _get_or_create_model(session: Session, *, name: str, actor: str) -> RegisteredModelRow:
    row = session.scalar(select(RegisteredModelRow).where(RegisteredModelRow.name == name))
    if row is None:
        row = RegisteredModelRow(name=name, created_at=utcnow(), created_by=actor)
        session.add(row)
        session.flush()
    return row


def _next_version_number(session: Session, model: RegisteredModelRow) -> int:
    latest = session.scalar(select(func.max(ModelVersionRow.version)).where(ModelVersionRow.model_id == model.id))
    return (latest or 0) + 1


def add_version(session: Session, *, name: str, adapter_spec: dict[str, Any], artifact_sha256: str | None,
                schema: FeatureSchema, background_sha256: str, background_rows: int, description: str | None,
                actor: str, lineage: LineageRecord, decision_rule: DecisionRule | None = None) -> ModelVersion:
    """The next version of model ``name`` (the model itself is created with its first version)."""
    model = _get_or_create_model(session, name=name, actor=actor)
    row = ModelVersionRow(
        model_id=model.id, version=_next_version_number(session, model), adapter_spec=adapter_spec,
        artifact_sha256=artifact_sha256,
        feature_schema=schema.to_dict(), background_sha256=background_sha256, background_rows=background_rows,
        description=description, registered_at=utcnow(), registered_by=actor,
        decision_rule=decision_rule.to_dict() if decision_rule else None,
    )
    session.add(row)
    session.flush()
    lineage_row = _lineage_row(row.id, lineage)
    session.add(lineage_row)
    session.flush()
    session.add_all(LineageDataRefRow(lineage_id=lineage_row.id, kind=kind, value=value[:200])
                    for kind, value in lineage.data_references())
    session.flush()
    return version_entity(session, row)


def get_version(session: Session, ref: ModelRef) -> ModelVersion:
    return version_entity(session, _find_version_row(session, ref))


def list_models(session: Session) -> list[ModelSummary]:
    rows = session.scalars(
        select(RegisteredModelRow).options(selectinload(RegisteredModelRow.versions),
                                           selectinload(RegisteredModelRow.aliases)
                                           .selectinload(AliasRow.model_version))
        .order_by(RegisteredModelRow.name)
    ).all()
    return [
        ModelSummary(
            name=row.name, latest_version=max((v.version for v in row.versions), default=0),
            version_count=len(row.versions), aliases={a.alias: a.model_version.version for a in row.aliases},
            created_at=row.created_at, created_by=row.created_by,
        )
        for row in rows
    ]


def list_versions(session: Session, name: str) -> list[ModelVersion]:
    model = _model_row(session, name)
    rows = session.scalars(select(ModelVersionRow).where(ModelVersionRow.model_id == model.id)
                           .order_by(ModelVersionRow.version)).all()
    return [version_entity(session, row) for row in rows]


def set_approver(session: Session, ref: ModelRef, *, approver: str) -> ModelVersion:
    """Record the approver in the version's lineage (the row's other fields stay as registered)."""
    row = _find_version_row(session, ref)
    lineage = session.scalar(select(LineageRow).where(LineageRow.model_version_id == row.id))
    if lineage is None:
        raise NotFound(f"{ref} has no lineage record", field="lineage")
    lineage.approver = approver
    lineage.missing = {k: v for k, v in dict(lineage.missing).items() if k != "approver"}
    session.flush()
    return version_entity(session, row)


# -- aliases ----------------------------------------------------------------------


def move_alias(session: Session, *, name: str, alias: str, version: int, actor: str) -> AliasMove:
    target = _find_version_row(session, ModelRef(name, version=version))
    current = session.get(AliasRow, (target.model_id, alias))
    from_version = None if current is None else current.model_version.version
    if current is None:
        session.add(AliasRow(model_id=target.model_id, alias=alias, model_version_id=target.id))
    else:
        current.model_version_id = target.id
    moved_at = utcnow()
    row = AliasEventRow(model_id=target.model_id, alias=alias, from_version=from_version, to_version=version,
                        actor=actor, moved_at=moved_at)
    session.add(row)
    session.flush()
    return AliasMove(model=name, alias=alias, from_version=from_version, to_version=version, actor=actor,
                     moved_at=moved_at, id=row.id)


def alias_move_record(row: AliasEventRow) -> dict[str, Any]:
    """An alias move as the ledger records it."""
    return {"alias_event_id": row.id, "model_id": row.model_id, "alias": row.alias, "from_version": row.from_version,
            "to_version": row.to_version, "actor": row.actor, "moved_at": format_utc(row.moved_at)}


def alias_move_payload(session: Session, move_id: int) -> dict[str, Any]:
    """An alias move, by id, as the ledger records it."""
    row = session.get(AliasEventRow, move_id)
    if row is None:
        raise NotFound(f"no alias move {move_id}", field="alias")
    return alias_move_record(row)


def alias_target_id(session: Session, *, name: str, alias: str) -> int:
    """The model version id ``name@alias`` points to now."""
    return alias_row(session, name, alias).model_version_id


def alias_history(session: Session, name: str) -> list[AliasMove]:
    model = _model_row(session, name)
    rows = session.scalars(select(AliasEventRow).where(AliasEventRow.model_id == model.id)
                           .order_by(AliasEventRow.id)).all()
    return [AliasMove(model=name, alias=r.alias, from_version=r.from_version, to_version=r.to_version,
                      actor=r.actor, moved_at=r.moved_at, id=r.id) for r in rows]


# -- lineage lookups ----------------------------------------------------------------


def lineage_where(session: Session, *, data_sha256: str | None = None, commit: str | None = None,
                  trainer: str | None = None, since: datetime | None = None, until: datetime | None = None,
                  date_field: str = "registered", mlflow_run_id: str | None = None,
                  dataset_digest: str | None = None) -> list[LineageView]:
    """Lineage of every version matching all the filters given, oldest registration first."""
    query = (select(LineageRow, ModelVersionRow, RegisteredModelRow)
             .join(ModelVersionRow, LineageRow.model_version_id == ModelVersionRow.id)
             .join(RegisteredModelRow, ModelVersionRow.model_id == RegisteredModelRow.id))
    if data_sha256 is not None:
        query = query.where(LineageRow.data_sha256 == data_sha256)
    if commit is not None:
        # A short commit (7+ hex digits, as git prints them) matches as a prefix.
        query = query.where(LineageRow.code_commit.startswith(commit, autoescape=True))
    if trainer is not None:
        query = query.where(LineageRow.trainer == trainer)
    if mlflow_run_id is not None:
        query = query.where(LineageRow.mlflow_run_id == mlflow_run_id)
    if dataset_digest is not None:
        # Any external identifier of the training data: MLflow dataset digest, DVC md5, data version.
        query = query.where(LineageRow.id.in_(select(LineageDataRefRow.lineage_id)
                                              .where(LineageDataRefRow.value == dataset_digest)))
    moment = ModelVersionRow.registered_at if date_field == "registered" else LineageRow.training_started_at
    if since is not None:
        query = query.where(moment >= since)
    if until is not None:
        query = query.where(moment < until)
    query = query.order_by(ModelVersionRow.registered_at, ModelVersionRow.id)
    return [
        LineageView(model=model.name, version=version.version, registered_at=version.registered_at,
                    registered_by=version.registered_by, lineage=_lineage_entity(lineage),
                    decision_rule=version.decision_rule,
                    protected_override=version.feature_schema.get("protected_override"))
        for lineage, version, model in session.execute(query).all()
    ]


# -- helpers ------------------------------------------------------------------------


def _model_row(session: Session, name: str) -> RegisteredModelRow:
    row = session.scalar(select(RegisteredModelRow).where(RegisteredModelRow.name == name))
    if row is None:
        raise NotFound(f"no model named {name!r} is registered", code="model_not_found", field="model")
    return row


def alias_row(session: Session, name: str, alias: str) -> AliasRow:
    row = session.get(AliasRow, (_model_row(session, name).id, alias))
    if row is None:
        raise NotFound(f"model {name!r} has no alias {alias!r}", code="alias_not_found", field="model")
    return row


def _find_version_row(session: Session, ref: ModelRef) -> ModelVersionRow:
    model = _model_row(session, ref.name)
    if ref.alias is not None:
        alias = session.get(AliasRow, (model.id, ref.alias))
        if alias is None:
            raise NotFound(f"model {ref.name!r} has no alias {ref.alias!r}", code="alias_not_found", field="model")
        return alias.model_version
    query = select(ModelVersionRow).where(ModelVersionRow.model_id == model.id)
    if ref.version is None:
        row = session.scalar(query.order_by(ModelVersionRow.version.desc()).limit(1))
    else:
        row = session.scalar(query.where(ModelVersionRow.version == ref.version))
    if row is None:
        raise NotFound(f"model {ref.name!r} has no version {ref.version}", code="version_not_found", field="model")
    return row


def version_entity(session: Session, row: ModelVersionRow) -> ModelVersion:
    aliases = session.scalars(select(AliasRow.alias).where(AliasRow.model_version_id == row.id)
                              .order_by(AliasRow.alias)).all()
    lineage = session.scalar(select(LineageRow).where(LineageRow.model_version_id == row.id))
    return ModelVersion(
        name=row.model.name, version=row.version, adapter_spec=dict(row.adapter_spec),
        artifact_sha256=row.artifact_sha256, schema=FeatureSchema.from_dict(row.feature_schema),
        background_sha256=row.background_sha256, background_rows=row.background_rows,
        description=row.description, registered_at=row.registered_at, registered_by=row.registered_by,
        aliases=tuple(aliases), lineage=_lineage_entity(lineage) if lineage else LineageRecord(),
        decision_rule=DecisionRule.from_dict(row.decision_rule) if row.decision_rule else None,
    )


def _lineage_row(model_version_id: int, lineage: LineageRecord) -> LineageRow:
    return LineageRow(model_version_id=model_version_id, missing=dict(lineage.missing),
                      external=lineage.external() or None, mlflow_run_id=lineage.mlflow.get("run_id"),
                      **{name: getattr(lineage, name) for name in LINEAGE_FIELDS})


def _lineage_entity(row: LineageRow) -> LineageRecord:
    return LineageRecord(missing=dict(row.missing), **external_fields(row.external),
                         **{name: getattr(row, name) for name in LINEAGE_FIELDS})


# -- explanations -------------------------------------------------------------------


def version_ids(session: Session, refs: set[tuple[str, int]]) -> dict[tuple[str, int], int]:
    """The row ids of these (model name, version number) pairs, in one query; an unknown pair is absent.
    Only the ids: loading a version's row (schema, adapter, JSON columns) costs more than an insert."""
    if not refs:
        return {}
    found = session.execute(
        select(RegisteredModelRow.name, ModelVersionRow.version, ModelVersionRow.id)
        .join(RegisteredModelRow, ModelVersionRow.model_id == RegisteredModelRow.id)
        .where(tuple_(RegisteredModelRow.name, ModelVersionRow.version).in_(sorted(refs))))
    return {(name, number): row_id for name, number, row_id in found}


def version_not_found(model: str, version: int) -> NotFound:
    return NotFound(f"model {model!r} has no version {version}", code="version_not_found", field="model")


def add_explanation(session: Session, record: ExplanationRecord,
                    stored: dict[str, Any] | None = None) -> ExplanationRecord:
    """Store one record (``stored``: its ``to_dict()``, when the caller has it already): ``add_explanations``
    with its version looked up. A first explanation of an explained decision id is refused (Conflict)."""
    version_id = version_ids(session, {(record.model, record.version)}).get((record.model, record.version))
    if version_id is None:
        raise version_not_found(record.model, record.version)
    add_explanations(session, [(record, stored if stored is not None else record.to_dict(), version_id)])
    return record


def add_explanations(session: Session, records: list[tuple[ExplanationRecord, dict[str, Any], int]]) -> None:
    """Insert records, each with its ``to_dict()`` and its version's row id, in one flush, in decision-id
    order (two writers whose records share decision ids wait on each other's rows in one order, never in a
    circle). The partial unique index has the last word on a first explanation: if it refuses, the flush
    fails whole (the caller's transaction is to be rolled back) and a record alone names its decision id."""
    session.add_all(ExplanationRow(id=record.id, model_version_id=version_id, decision_id=record.decision_id,
                                   requested_by=record.requested_by, requested_at=record.requested_at,
                                   instance_sha256=record.instance_sha256, record=stored,
                                   record_sha256=stored["record_sha256"], re_explains=record.re_explains)
                    for record, stored, version_id in sorted(records, key=lambda r: r[0].decision_id))
    try:
        session.flush()
    except IntegrityError:
        if len(records) == 1:
            raise decision_conflict(records[0][0].decision_id) from None
        raise Conflict("a record of this group is already stored (a uniqueness the database checks); store "
                       "them one at a time to see which", code="group_conflict") from None


def decision_conflict(decision_id: str) -> Conflict:
    return Conflict(f"decision {decision_id!r} is already explained; to explain it again, say that the request "
                    "re-explains it (re_explains / --re-explain)", code="decision_already_explained",
                    field="decision_id")


def latest_explanation_of(session: Session, decision_id: str) -> str | None:
    """The id of the most recent explanation of a decision, or None if it was never explained."""
    return latest_explanations_of(session, [decision_id]).get(decision_id)


def latest_explanations_of(session: Session, decision_ids: list[str]) -> dict[str, str]:
    """The id of the most recent explanation of each of these decisions that was explained (one query per
    500 ids: bound parameters are limited)."""
    latest: dict[str, str] = {}
    for start in range(0, len(decision_ids), 500):
        chunk = sorted(set(decision_ids[start:start + 500]))
        for decision_id, explanation_id in session.execute(
                select(ExplanationRow.decision_id, ExplanationRow.id).where(ExplanationRow.decision_id.in_(chunk))
                .order_by(ExplanationRow.requested_at, ExplanationRow.id)):
            latest[decision_id] = explanation_id  # in time order: the last one stays
    return latest


def get_explanation(session: Session, explanation_id: str) -> ExplanationRecord:
    row = session.get(ExplanationRow, explanation_id)
    if row is None:
        raise NotFound(f"no explanation {explanation_id!r}", code="explanation_not_found", field="id")
    return ExplanationRecord.from_dict(dict(row.record))


def find_explanations(session: Session, *, decision_id: str | None = None, model: str | None = None,
                      version: int | None = None, requested_by: str | None = None, since: datetime | None = None,
                      until: datetime | None = None, limit: int = 100, offset: int = 0) -> list[ExplanationRecord]:
    query = select(ExplanationRow).join(ModelVersionRow).join(RegisteredModelRow)
    if decision_id is not None:
        query = query.where(ExplanationRow.decision_id == decision_id)
    if model is not None:
        query = query.where(RegisteredModelRow.name == model)
    if version is not None:
        query = query.where(ModelVersionRow.version == version)
    if requested_by is not None:
        query = query.where(ExplanationRow.requested_by == requested_by)
    if since is not None:
        query = query.where(ExplanationRow.requested_at >= since)
    if until is not None:
        query = query.where(ExplanationRow.requested_at < until)
    rows = session.scalars(query.order_by(ExplanationRow.requested_at, ExplanationRow.id)
                           .limit(limit).offset(offset)).all()
    return [ExplanationRecord.from_dict(dict(row.record)) for row in rows]


@dataclass(frozen=True)
class StoredExplanation:
    """An explanation row's record and its lookup columns (``model_ref``: the version its id column names),
    for the checks that compare the columns with the record."""

    id: str
    record: dict[str, Any]
    record_sha256: str
    model_ref: str | None
    decision_id: str
    requested_by: str
    requested_at: datetime
    instance_sha256: str


def stored_explanations(session: Session, *, decision_id: str | None = None) -> list[StoredExplanation]:
    """Every stored explanation (or a decision's), oldest first, as stored."""
    query = select(ExplanationRow)
    if decision_id is not None:
        query = query.where(ExplanationRow.decision_id == decision_id)
    rows = session.scalars(query.order_by(ExplanationRow.requested_at, ExplanationRow.id)).all()
    refs: dict[int, str | None] = {}
    out = []
    for row in rows:
        if row.model_version_id not in refs:
            version = session.get(ModelVersionRow, row.model_version_id)
            refs[row.model_version_id] = None if version is None else f"{version.model.name}@{version.version}"
        out.append(StoredExplanation(row.id, dict(row.record), row.record_sha256, refs[row.model_version_id],
                                     row.decision_id, row.requested_by, row.requested_at, row.instance_sha256))
    return out


def explanation_rows(session: Session, *, decision_id: str) -> list[StoredExplanation]:
    """A decision's stored explanations, as stored (for the checks against the ledger)."""
    return stored_explanations(session, decision_id=decision_id)


def explained_decision_ids(session: Session, decision_ids: list[str]) -> set[str]:
    """Which of these decision ids already have a stored explanation (in chunks: bound parameters are limited)."""
    found: set[str] = set()
    for start in range(0, len(decision_ids), 500):
        chunk = decision_ids[start:start + 500]
        found.update(session.scalars(select(ExplanationRow.decision_id).where(ExplanationRow.decision_id.in_(chunk))))
    return found


def lineage_of_decision(session: Session, decision_id: str) -> list[LineageView]:
    explained_by = select(ExplanationRow.model_version_id).where(ExplanationRow.decision_id == decision_id)
    rows = session.scalars(select(ModelVersionRow).where(ModelVersionRow.id.in_(explained_by))
                           .order_by(ModelVersionRow.id)).all()
    if not rows:
        raise NotFound(f"no explanation of decision {decision_id!r}", code="decision_not_found", field="decision_id")
    explained = session.execute(select(ExplanationRow.model_version_id, ExplanationRow.id)
                                .where(ExplanationRow.decision_id == decision_id)
                                .order_by(ExplanationRow.requested_at, ExplanationRow.id)).all()
    views = []
    for row in rows:
        version = version_entity(session, row)
        views.append(LineageView.of(version, explanations=tuple(e for v, e in explained if v == row.id)))
    return views
