"""API key rows: every query of the api_keys table. Each function returns a ``StoredKey``, never a row."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xai_gov.errors import NotFound
from xai_gov.store.orm import ApiKeyRow
from xai_gov.timeutil import format_utc


@dataclass(frozen=True)
class StoredKey:
    """A key as stored: its SHA-256, never the key itself."""

    id: int
    prefix: str
    key_sha256: str
    name: str
    role: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None
    revoked_by: str | None

    def record(self) -> dict[str, Any]:
        """What the ledger covers of a key at creation."""
        return {"id": self.id, "prefix": self.prefix, "name": self.name, "role": self.role,
                "key_sha256": self.key_sha256, "created_at": format_utc(self.created_at),
                "created_by": self.created_by}


def _stored(row: ApiKeyRow) -> StoredKey:
    return StoredKey(row.id, row.prefix, row.key_sha256, row.name, row.role, row.created_at, row.created_by,
                     row.revoked_at, row.revoked_by)


def add_key(session: Session, *, key_sha256: str, name: str, role: str, created_at: datetime,
            created_by: str) -> StoredKey:
    """A new key row under a fresh unique prefix (call inside a serialised transaction)."""
    prefix = secrets.token_hex(4)
    while session.scalar(select(ApiKeyRow.id).where(ApiKeyRow.prefix == prefix)) is not None:
        prefix = secrets.token_hex(4)  # a prefix finds the row: it must be unique
    row = ApiKeyRow(prefix=prefix, key_sha256=key_sha256, name=name, role=role, created_at=created_at,
                    created_by=created_by)
    session.add(row)
    session.flush()
    return _stored(row)


def revoke_key(session: Session, key_id: int, *, at: datetime, by: str) -> tuple[StoredKey, bool]:
    """Mark a key revoked; the key and whether this call revoked it (False: it already was)."""
    row = session.get(ApiKeyRow, key_id)
    if row is None:
        raise NotFound(f"no API key {key_id}", code="key_not_found", field="id")
    if row.revoked_at is not None:
        return _stored(row), False
    row.revoked_at, row.revoked_by = at, by
    session.flush()
    return _stored(row), True


def key_by_prefix(session: Session, prefix: str) -> StoredKey | None:
    row = session.scalar(select(ApiKeyRow).where(ApiKeyRow.prefix == prefix))
    return None if row is None else _stored(row)


def all_keys(session: Session) -> list[StoredKey]:
    return [_stored(row) for row in session.scalars(select(ApiKeyRow).order_by(ApiKeyRow.id)).all()]
