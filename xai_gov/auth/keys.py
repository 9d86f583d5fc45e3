"""API keys: ``xg_<prefix>_<secret>``, stored as SHA-256, one role each, shown once, revocable.

The prefix finds the row; the secret's hash is compared in constant time. Creating
and revoking a key are recorded in the audit ledger.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from xai_gov.actors import Actor, Role, parse_role
from xai_gov.audit.records import check_key
from xai_gov.auth.permissions import Permission, require
from xai_gov.errors import InvalidInput, Unauthenticated
from xai_gov.store import keys as key_store
from xai_gov.store import ledger
from xai_gov.store.db import Database
from xai_gov.store.keys import StoredKey
from xai_gov.timeutil import format_utc, utcnow
from xai_gov.validation import check_text

_KEY = re.compile(r"^xg_([a-z0-9]{8})_([A-Za-z0-9_-]{32,64})$")


@dataclass(frozen=True)
class ApiKey:
    id: int
    prefix: str
    name: str
    role: Role
    created_at: datetime
    created_by: str
    revoked_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "prefix": self.prefix, "name": self.name, "role": self.role.value,
                "created_at": format_utc(self.created_at), "created_by": self.created_by,
                "revoked_at": format_utc(self.revoked_at)}


def _entity(row: StoredKey) -> ApiKey:
    return ApiKey(row.id, row.prefix, row.name, Role(row.role), row.created_at, row.created_by, row.revoked_at)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class KeyService:
    def __init__(self, *, database: Database) -> None:
        self.database = database

    def create(self, *, name: str, role: Role | str, actor: Actor) -> tuple[ApiKey, str]:
        """A new key; the returned string is the only time the key itself exists outside its holder."""
        require(actor, Permission.MANAGE_KEYS)
        role = parse_role(role)
        if not isinstance(name, str) or not 1 <= len(name.strip()) <= 200:
            raise InvalidInput("a key's name is 1 to 200 characters", field="name")
        check_text(name, "name")
        secret = secrets.token_urlsafe(32)
        with self.database.session(serialised=True) as session:  # the new prefix is unique under the lock
            row = key_store.add_key(session, key_sha256=_digest(secret), name=name.strip(), role=role.value,
                                    created_at=utcnow(), created_by=actor.name)
            key, prefix = _entity(row), row.prefix
            # Every field is covered (role and key hash too): audit verify names a role raised in the database.
            ledger.append(session, actor=actor.name, action="key.created", subject=f"key {prefix}",
                          payload=ledger.record_payload(row.record(), id=key.id, prefix=prefix, name=key.name,
                                                        role=role.value))
        return key, f"xg_{prefix}_{secret}"

    def revoke(self, *, key_id: int, actor: Actor) -> ApiKey:
        require(actor, Permission.MANAGE_KEYS)
        with self.database.session() as session:
            row, revoked = key_store.revoke_key(session, key_id, at=utcnow(), by=actor.name)
            if revoked:
                ledger.append(session, actor=actor.name, action="key.revoked", subject=f"key {row.prefix}",
                              payload={"id": row.id, "prefix": row.prefix,
                                       "revoked_at": format_utc(row.revoked_at), "revoked_by": row.revoked_by})
            return _entity(row)

    def list(self) -> list[ApiKey]:
        with self.database.session() as session:
            return [_entity(row) for row in key_store.all_keys(session)]

    def has_admin(self) -> bool:
        return any(k.role is Role.ADMIN and k.revoked_at is None for k in self.list())

    def authenticate(self, token: str | None) -> Actor:
        """The actor a bearer key belongs to; Unauthenticated for a missing, malformed, unknown or revoked key."""
        if not token:
            raise Unauthenticated("an API key is required: Authorization: Bearer <key>", field="authorization")
        match = _KEY.fullmatch(token)
        if match is None:
            raise Unauthenticated("the API key is malformed", field="authorization")
        prefix, secret = match.groups()
        with self.database.session() as session:
            row = key_store.key_by_prefix(session, prefix)
            if row is None or not hmac.compare_digest(row.key_sha256, _digest(secret)):
                raise Unauthenticated("unknown API key", field="authorization")
            if row.revoked_at is not None:
                raise Unauthenticated(f"the API key {prefix} was revoked on {format_utc(row.revoked_at)}",
                                      field="authorization")
            # The role comes from the row only if the ledger vouches for it (a role raised in the database,
            # a key un-revoked or swapped there, is refused).
            subject = f"key {prefix}"
            problem = check_key(row, ledger.find_event(session, action="key.created", subject=subject),
                                ledger.find_event(session, action="key.revoked", subject=subject))
            if problem is not None:
                raise Unauthenticated(f"the API key {prefix} does not match the audit ledger: {problem.message}",
                                      code="key_tampered", field="authorization")
            return Actor(name=f"{row.name} ({prefix})", role=Role(row.role))
