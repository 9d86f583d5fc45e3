"""Signed checkpoints outside the database: append-only files an auditor can copy.

Every checkpoint the service signs is also appended, as one JSON line, to
``<checkpoint_dir>/checkpoints-YYYY-MM-DD.jsonl`` (like CloudTrail's digest
files). Someone with write access to the database, but not to the copies, can
then neither delete the newest checkpoint nor truncate the chain back before it:
``xai-gov audit verify --checkpoints DIR`` checks every line's signature with the
trusted public key, that the database still holds that checkpoint, and that the
chain still has the signed head at the signed position.

``CheckpointSchedule`` says when the service signs the next one: every
``every_events`` events or every ``every_minutes`` minutes, whichever comes first
(and only when something was appended since the last one).
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from xai_gov.audit.records import Problem
from xai_gov.audit.signing import key_id, verify_signature
from xai_gov.canonical import canonical_json
from xai_gov.errors import InvalidInput
from xai_gov.store import ledger
from xai_gov.timeutil import format_utc, parse_utc

FILE_GLOB = "checkpoints-*.jsonl"


@dataclass(frozen=True)
class Checkpoint(ledger.StoredCheckpoint):
    """A stored checkpoint that can check its own signature."""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Checkpoint:
        signed_at = parse_utc(data["signed_at"], field="signed_at")
        assert signed_at is not None
        return cls(int(data["id"]), int(data["seq"]), str(data["head_hash"]), signed_at, str(data["signed_by"]),
                   str(data["key_id"]), str(data["signature"]))

    def signature_ok(self, public: Ed25519PublicKey) -> bool:
        message = checkpoint_message(self.seq, self.head_hash, self.signed_at, self.key_id)
        try:
            signature = base64.b64decode(self.signature, validate=True)
        except ValueError:
            return False
        return self.key_id == key_id(public) and verify_signature(public, signature, message)


def checkpoint_message(seq: int, head_hash: str, signed_at: datetime, key: str) -> bytes:
    """What the key signs: the chain's head at ``seq``, when, and by which key."""
    return canonical_json({"seq": seq, "head_hash": head_hash, "signed_at": format_utc(signed_at),
                           "key_id": key}).encode("utf-8")


@dataclass(frozen=True)
class CheckpointSchedule:
    every_events: int = 100
    every_minutes: float = 15.0
    max_lag_events: int = 500  # verify warns when the head is further than this past the newest checkpoint

    def due(self, *, head_seq: int, newest: Checkpoint | None, first_event_at: datetime | None,
            now: datetime) -> bool:
        """Whether the service should sign now."""
        since_seq = newest.seq if newest else 0
        unsigned = head_seq - since_seq
        if newest is not None:
            unsigned -= 1  # the event recording the newest checkpoint needs no checkpoint of its own
        if unsigned <= 0:
            return False
        if unsigned >= self.every_events:
            return True
        since = newest.signed_at if newest else first_event_at
        return since is not None and now - since >= timedelta(minutes=self.every_minutes)


class CheckpointFiles:
    """The append-only checkpoint files in one directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def append(self, checkpoint: Checkpoint) -> Path:
        """One line, written with a single append and fsynced."""
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"checkpoints-{checkpoint.signed_at:%Y-%m-%d}.jsonl"
        line = (canonical_json(checkpoint.to_dict()) + "\n").encode("utf-8")
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(descriptor, line)
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        return path

    def read(self) -> list[tuple[str, Checkpoint]]:
        """Every checkpoint in the directory with where it was found ("file:line"); a bad line is an error."""
        if not self.directory.is_dir():
            raise InvalidInput(f"no checkpoint directory at {self.directory}", field="checkpoints")
        found: list[tuple[str, Checkpoint]] = []
        for path in sorted(self.directory.glob(FILE_GLOB)):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if not line.strip():
                    continue
                where = f"{path.name}:{number}"
                try:
                    found.append((where, Checkpoint.from_dict(json.loads(line))))
                except (ValueError, KeyError, TypeError, InvalidInput) as exc:
                    raise InvalidInput(f"{where} is not a checkpoint line: {exc}", field="checkpoints") from None
        return found


def check_against_chain(checkpoint: Checkpoint, events: list[ledger.AuditEvent], where: str) -> Problem | None:
    """The chain must still hold the signed head at the signed position."""
    head_seq = events[-1].seq if events else 0
    subject = f"checkpoint {checkpoint.id}"
    if checkpoint.seq > head_seq:
        return Problem("truncated", subject, f"{subject} ({where}) signed the chain at event {checkpoint.seq} on "
                       f"{format_utc(checkpoint.signed_at)}, but the chain now ends at event {head_seq}: events were "
                       "deleted from its end", ("seq",))
    hash_at = ledger.GENESIS if checkpoint.seq == 0 else next(
        (e.hash for e in events if e.seq == checkpoint.seq), None)
    if hash_at != checkpoint.head_hash:
        return Problem("rewritten", subject, f"the chain no longer has the head signed at event {checkpoint.seq} by "
                       f"{subject} ({where}) on {format_utc(checkpoint.signed_at)}: the ledger was rewritten",
                       ("head_hash",))
    return None


def check_files(files: list[tuple[str, Checkpoint]], stored: dict[int, Checkpoint],
                events: list[ledger.AuditEvent], public: Ed25519PublicKey) -> Problem | None:
    """The database against checkpoints copied out of it."""
    for where, checkpoint in files:
        subject = f"checkpoint {checkpoint.id}"
        if not checkpoint.signature_ok(public):
            return Problem("bad_signature", subject, f"{subject} in {where} is not signed by the trusted key",
                           ("signature",))
        problem = check_against_chain(checkpoint, events, where)
        if problem:
            return problem
        row = stored.get(checkpoint.id)
        if row is None:
            return Problem("deleted", subject, f"{subject} (event {checkpoint.seq}, signed "
                           f"{format_utc(checkpoint.signed_at)}) is in {where} but no longer in the database",
                           ("row",))
        if row != checkpoint:
            changed = tuple(k for k, v in checkpoint.to_dict().items() if row.to_dict()[k] != v)
            return Problem("changed", subject, f"{subject} in the database differs from {where}: {', '.join(changed)}",
                           changed)
    return None
