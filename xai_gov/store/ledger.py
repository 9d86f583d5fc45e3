"""The audit ledger: an append-only, hash-chained log of every write and every auditor lookup.

Each event holds its sequence number, UTC time, actor, action, subject, the
SHA-256 of its payload (canonical JSON, ``xai_gov.canonical.canonical_json``)
and the hash of the event before it; its own hash covers all of that:

    hash = SHA-256(canonical_json({"seq", "at", "actor", "action", "subject",
                                   "payload_sha256", "prev_hash"}))

with ``prev_hash`` of the first event 64 zeros. An event is appended in the same
transaction as the write it records, so both land or neither does. Appends are
serialised: PostgreSQL takes a transaction-scoped advisory lock; SQLite
transactions begin IMMEDIATE (``xai_gov.store.db``), which takes the write lock
before the head is read. The chain therefore never forks, and a sequence number
never repeats (it is the primary key).

The ledger sits at the bottom of the house, next to the database it writes in:
it knows no domain type, and everything that records or checks a fact calls it.
Its readers below hand out ``AuditEvent`` values, never rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xai_gov.canonical import canonical_json, sha256_json
from xai_gov.store.db import LEDGER_LOCK_KEY, lock_ledger
from xai_gov.store.orm import AuditCheckpointRow, AuditEventRow
from xai_gov.timeutil import format_utc, utcnow

GENESIS = "0" * 64
ADVISORY_LOCK_KEY = LEDGER_LOCK_KEY  # "xaig"


@dataclass(frozen=True)
class NewEvent:
    """An event to append: what the appender is told (the chain's fields are its own)."""

    actor: str
    action: str
    subject: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class AuditEvent:
    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    payload: dict[str, Any]
    payload_sha256: str
    prev_hash: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "at": format_utc(self.at), "actor": self.actor, "action": self.action,
                "subject": self.subject, "payload": self.payload, "payload_sha256": self.payload_sha256,
                "prev_hash": self.prev_hash, "hash": self.hash}


def event_hash(*, seq: int, at: datetime, actor: str, action: str, subject: str, payload_sha256: str,
               prev_hash: str) -> str:
    body = {"seq": seq, "at": format_utc(at), "actor": actor, "action": action, "subject": subject,
            "payload_sha256": payload_sha256, "prev_hash": prev_hash}
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def lock(session: Session) -> None:
    """Serialise appenders until the caller's transaction ends (taken once per transaction; SQLite: its
    transactions begin IMMEDIATE)."""
    lock_ledger(session)


def append(session: Session, *, actor: str, action: str, subject: str, payload: dict[str, Any]) -> AuditEvent:
    """Append one event inside the caller's transaction."""
    return append_many(session, [NewEvent(actor, action, subject, payload)])[0]


def append_many(session: Session, events: Sequence[NewEvent]) -> list[AuditEvent]:
    """Append events in their order inside the caller's transaction: the lock and the head are taken once,
    and the chain is extended event by event (each holds the hash of the one before)."""
    lock(session)
    seq, prev_hash = head(session)
    appended = []
    for new in events:
        seq, at, payload_sha256 = seq + 1, utcnow(), sha256_json(new.payload)
        digest = event_hash(seq=seq, at=at, actor=new.actor, action=new.action, subject=new.subject,
                            payload_sha256=payload_sha256, prev_hash=prev_hash)
        appended.append(AuditEvent(seq, at, new.actor, new.action, new.subject, new.payload, payload_sha256,
                                   prev_hash, digest))
        prev_hash = digest
    session.add_all(AuditEventRow(seq=e.seq, at=e.at, actor=e.actor, action=e.action, subject=e.subject,
                                  payload=e.payload, payload_sha256=e.payload_sha256, prev_hash=e.prev_hash,
                                  hash=e.hash) for e in appended)
    session.flush()
    return appended


def to_event(row: AuditEventRow) -> AuditEvent:
    return AuditEvent(row.seq, row.at, row.actor, row.action, row.subject, dict(row.payload), row.payload_sha256,
                      row.prev_hash, row.hash)


def field_hashes(record: dict[str, Any]) -> dict[str, str]:
    """The SHA-256 of each top-level field: kept in the ledger, so a change is named field by field."""
    return {name: sha256_json(value) for name, value in record.items()}


def record_payload(record: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """What an event keeps of a record: its fields' hashes and the hash over them."""
    fields = field_hashes(record)
    return {"fields_sha256": sha256_json(fields), "fields": fields, **extra}


# -- reading the chain ----------------------------------------------------------------


def find_event(session: Session, *, action: str, subject: str) -> AuditEvent | None:
    """The first event recording ``action`` on ``subject`` (e.g. the creation of an explanation)."""
    row = session.scalar(select(AuditEventRow).where(AuditEventRow.action == action, AuditEventRow.subject == subject)
                         .order_by(AuditEventRow.seq).limit(1))
    return None if row is None else to_event(row)


def last_event(session: Session, *, action: str, subject: str) -> AuditEvent | None:
    """The newest event recording ``action`` on ``subject`` (e.g. an alias's last move)."""
    row = session.scalar(select(AuditEventRow).where(AuditEventRow.action == action, AuditEventRow.subject == subject)
                         .order_by(AuditEventRow.seq.desc()).limit(1))
    return None if row is None else to_event(row)


def find_events(session: Session, *, action: str, subject: str) -> list[AuditEvent]:
    """Every event recording ``action`` on ``subject``, in sequence order."""
    rows = session.scalars(select(AuditEventRow).where(AuditEventRow.action == action, AuditEventRow.subject == subject)
                           .order_by(AuditEventRow.seq)).all()
    return [to_event(row) for row in rows]


def events_after(session: Session, *, after: int = 0, limit: int | None = None) -> list[AuditEvent]:
    """Events with a sequence number above ``after``, in order (all of them without ``limit``)."""
    query = select(AuditEventRow).where(AuditEventRow.seq > after).order_by(AuditEventRow.seq)
    if limit is not None:
        query = query.limit(limit)
    return [to_event(row) for row in session.scalars(query).all()]


def events_about(session: Session, subjects: Iterable[str], *, limit: int) -> list[AuditEvent]:
    """Events whose subject is one of ``subjects``, in sequence order (at most ``limit``)."""
    wanted = sorted(set(subjects))
    if not wanted:
        return []
    rows = session.scalars(select(AuditEventRow).where(AuditEventRow.subject.in_(wanted))
                           .order_by(AuditEventRow.seq).limit(limit)).all()
    return [to_event(row) for row in rows]


def head(session: Session) -> tuple[int, str]:
    """The newest event's sequence number and hash; ``(0, GENESIS)`` for an empty chain."""
    row = session.execute(select(AuditEventRow.seq, AuditEventRow.hash)
                          .order_by(AuditEventRow.seq.desc()).limit(1)).first()
    return (row[0], row[1]) if row else (0, GENESIS)


def first_event_at(session: Session) -> datetime | None:
    return session.scalar(select(AuditEventRow.at).order_by(AuditEventRow.seq).limit(1))


# -- checkpoint rows -------------------------------------------------------------------


@dataclass(frozen=True)
class StoredCheckpoint:
    """A checkpoint row as stored (``xai_gov.audit.checkpoints.Checkpoint`` checks its signature)."""

    id: int
    seq: int
    head_hash: str
    signed_at: datetime
    signed_by: str
    key_id: str
    signature: str

    def to_dict(self) -> dict[str, Any]:
        """The row as its ``checkpoint.signed`` event records it."""
        return {"id": self.id, "seq": self.seq, "head_hash": self.head_hash, "signed_at": format_utc(self.signed_at),
                "signed_by": self.signed_by, "key_id": self.key_id, "signature": self.signature}


def _checkpoint(row: AuditCheckpointRow) -> StoredCheckpoint:
    return StoredCheckpoint(row.id, row.seq, row.head_hash, row.signed_at, row.signed_by, row.key_id, row.signature)


def add_checkpoint(session: Session, *, seq: int, head_hash: str, signed_at: datetime, signed_by: str, key_id: str,
                   signature: str) -> StoredCheckpoint:
    row = AuditCheckpointRow(seq=seq, head_hash=head_hash, signed_at=signed_at, signed_by=signed_by, key_id=key_id,
                             signature=signature)
    session.add(row)
    session.flush()
    return _checkpoint(row)


def checkpoints(session: Session) -> list[StoredCheckpoint]:
    """Every checkpoint row, oldest first."""
    return [_checkpoint(row) for row in session.scalars(select(AuditCheckpointRow)
                                                        .order_by(AuditCheckpointRow.id)).all()]


def newest_checkpoint(session: Session) -> StoredCheckpoint | None:
    row = session.scalar(select(AuditCheckpointRow).order_by(AuditCheckpointRow.id.desc()).limit(1))
    return None if row is None else _checkpoint(row)
