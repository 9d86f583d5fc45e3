"""Ledger events about one subject (an explanation, a model version), for the record pages."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from xai_gov.audit import ledger
from xai_gov.store.db import Database
from xai_gov.store.orm import AuditEventRow

MAX_EVENTS = 200


def events_about(database: Database, subjects: Iterable[str], *, limit: int = MAX_EVENTS) -> list[ledger.AuditEvent]:
    """Events whose subject is one of ``subjects``, in sequence order (at most ``limit``).

    An explanation's events have its id as subject (created) or ``"decision <id>"``
    (packet exported); a model version's have its ref or ``"model <ref>"``."""
    wanted = sorted(set(subjects))
    if not wanted:
        return []
    with database.session() as session:
        rows = session.scalars(select(AuditEventRow).where(AuditEventRow.subject.in_(wanted))
                               .order_by(AuditEventRow.seq).limit(limit)).all()
        return [ledger.to_event(row) for row in rows]
