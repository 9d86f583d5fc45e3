"""Ledger events about one subject (an explanation, a model version), for the record pages."""

from __future__ import annotations

from collections.abc import Iterable

from xai_gov.store import ledger
from xai_gov.store.db import Database

MAX_EVENTS = 200


def events_about(database: Database, subjects: Iterable[str], *, limit: int = MAX_EVENTS) -> list[ledger.AuditEvent]:
    """Events whose subject is one of ``subjects``, in sequence order (at most ``limit``).

    An explanation's events have its id as subject (created) or ``"decision <id>"``
    (packet exported); a model version's have its ref or ``"model <ref>"``."""
    with database.session() as session:
        return ledger.events_about(session, subjects, limit=limit)
