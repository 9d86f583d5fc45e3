"""The stored facts ``xai_gov.audit.records`` checks against the ledger, as plain values, never rows.

Each function reads one kind of record in a stable order; the checks compare what
they return with the ledger events that recorded it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xai_gov.registry.models import ModelRef, ModelVersion
from xai_gov.store import repos
from xai_gov.store.orm import AliasEventRow, AliasRow, ModelVersionRow
from xai_gov.store.repos import StoredExplanation


@dataclass(frozen=True)
class StoredAlias:
    model_id: int
    model_name: str
    alias: str
    model_version_id: int


def _ref(row: ModelVersionRow | None) -> str | None:
    return None if row is None else f"{row.model.name}@{row.version}"


def versions(session: Session) -> list[ModelVersion]:
    """Every model version, in registration order."""
    rows = session.scalars(select(ModelVersionRow).order_by(ModelVersionRow.id)).all()
    return [repos.version_entity(session, row) for row in rows]


def explanations(session: Session) -> list[StoredExplanation]:
    """Every explanation, oldest first."""
    return repos.stored_explanations(session)


def alias_moves(session: Session) -> list[tuple[int, dict[str, Any]]]:
    """Every alias move: its id and what its ledger event records of it."""
    rows = session.scalars(select(AliasEventRow).order_by(AliasEventRow.id)).all()
    return [(row.id, repos.alias_move_record(row)) for row in rows]


def _alias(row: AliasRow) -> StoredAlias:
    return StoredAlias(row.model_id, row.model.name, row.alias, row.model_version_id)


def aliases(session: Session) -> list[StoredAlias]:
    rows = session.scalars(select(AliasRow).order_by(AliasRow.model_id, AliasRow.alias)).all()
    return [_alias(row) for row in rows]


def alias(session: Session, name: str, alias_name: str) -> StoredAlias:
    return _alias(repos.alias_row(session, name, alias_name))


def version_ref(session: Session, model_version_id: int) -> str | None:
    """``name@version`` of a version row id; None when there is no such row."""
    return _ref(session.get(ModelVersionRow, model_version_id))


def version_by_number(session: Session, model_id: object, version: object) -> tuple[int | None, str | None]:
    """The row id and ref of a model's version number (as an old ``alias.moved`` event names it)."""
    row = session.scalar(select(ModelVersionRow).where(ModelVersionRow.model_id == model_id,
                                                       ModelVersionRow.version == version))
    return (None, None) if row is None else (row.id, _ref(row))


def resolve(session: Session, ref: ModelRef) -> ModelVersion:
    """The version ``ref`` names now (an alias followed to its current target)."""
    return repos.get_version(session, ref)
