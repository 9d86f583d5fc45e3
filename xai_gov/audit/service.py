"""Verify the ledger and every record it covers; sign checkpoints of its head.

``verify`` walks the chain in sequence order and recomputes every event's hash,
then recomputes the hash of every stored model version (with its lineage),
explanation and alias move and compares it with the hash its ledger event
recorded, then checks every checkpoint's signature with the trusted public key
and that the chain still has the signed head at the signed position. It stops at
the first problem and names it: which event or record, and whether it was
changed, deleted, inserted or reordered.

What it cannot see: an event appended after the last checkpoint by someone who
has write access to the database and recomputes the hashes correctly. Sign
checkpoints often (``xai-gov audit checkpoint``) and keep copies outside the
database; that is the same limit as CloudTrail's digest files.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xai_gov.actors import Actor
from xai_gov.audit import ledger
from xai_gov.audit.signing import key_id, load_private_key, load_public_key, public_pem, verify_signature
from xai_gov.errors import InvalidInput
from xai_gov.explain.records import ExplanationRecord, canonical_json, sha256_json
from xai_gov.store import repos
from xai_gov.store.db import Database
from xai_gov.store.orm import AliasEventRow, AuditCheckpointRow, AuditEventRow, ExplanationRow, ModelVersionRow
from xai_gov.timeutil import format_utc, utcnow


@dataclass(frozen=True)
class Problem:
    kind: str  # changed, deleted, inserted, reordered, bad_signature, rewritten
    subject: str  # "event 17", "explanation 3f2a...", "model version credit-risk@1", "checkpoint 2"
    message: str
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    events: int
    head_seq: int
    head_hash: str
    records: dict[str, int] = field(default_factory=dict)
    checkpoints: int = 0
    problem: Problem | None = None

    def to_dict(self) -> dict[str, Any]:
        problem = None if self.problem is None else {
            "kind": self.problem.kind, "subject": self.problem.subject, "message": self.problem.message,
            "fields": list(self.problem.fields)}
        return {"ok": self.ok, "events": self.events, "head_seq": self.head_seq, "head_hash": self.head_hash,
                "records": self.records, "checkpoints": self.checkpoints, "problem": problem}


@dataclass(frozen=True)
class Checkpoint:
    id: int
    seq: int
    head_hash: str
    signed_at: Any
    signed_by: str
    key_id: str
    signature: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "seq": self.seq, "head_hash": self.head_hash, "signed_at": format_utc(self.signed_at),
                "signed_by": self.signed_by, "key_id": self.key_id, "signature": self.signature}


def checkpoint_message(seq: int, head_hash: str, signed_at: Any, key: str) -> bytes:
    return canonical_json({"seq": seq, "head_hash": head_hash, "signed_at": format_utc(signed_at),
                           "key_id": key}).encode("utf-8")


class AuditService:
    def __init__(self, *, database: Database, signing_key_path: Path) -> None:
        self.database = database
        self.signing_key_path = signing_key_path

    def events(self, *, after: int = 0, limit: int = 100) -> list[ledger.AuditEvent]:
        with self.database.session() as session:
            rows = session.scalars(select(AuditEventRow).where(AuditEventRow.seq > after)
                                   .order_by(AuditEventRow.seq).limit(limit)).all()
            return [ledger.to_event(row) for row in rows]

    def public_key_pem(self) -> str:
        return public_pem(load_public_key(self.signing_key_path))

    def checkpoint(self, *, actor: Actor) -> Checkpoint:
        """Verify the chain, then sign its head (the checkpoint is itself recorded in the ledger)."""
        report = self.verify()
        if not report.ok:
            raise InvalidInput(f"the ledger does not verify, so it is not signed: {report.problem.message}"
                               if report.problem else "the ledger does not verify", code="ledger_broken")
        private = load_private_key(self.signing_key_path)
        public = private.public_key()
        signed_at = utcnow()
        with self.database.session() as session:
            head = session.execute(select(AuditEventRow.seq, AuditEventRow.hash)
                                   .order_by(AuditEventRow.seq.desc()).limit(1)).first()
            seq, head_hash = (head[0], head[1]) if head else (0, ledger.GENESIS)
            message = checkpoint_message(seq, head_hash, signed_at, key_id(public))
            row = AuditCheckpointRow(seq=seq, head_hash=head_hash, signed_at=signed_at, signed_by=actor.name,
                                     key_id=key_id(public),
                                     signature=base64.b64encode(private.sign(message)).decode("ascii"))
            session.add(row)
            session.flush()
            checkpoint = Checkpoint(row.id, seq, head_hash, signed_at, actor.name, row.key_id, row.signature)
            ledger.append(session, actor=actor.name, action="checkpoint.signed", subject=f"checkpoint {row.id}",
                          payload=checkpoint.to_dict())
        return checkpoint

    def verify(self, *, public_key_path: Path | None = None) -> VerifyReport:
        with self.database.session() as session:
            events = [ledger.to_event(row) for row in session.scalars(select(AuditEventRow)
                                                                      .order_by(AuditEventRow.seq)).all()]
            head_seq, head_hash = (events[-1].seq, events[-1].hash) if events else (0, ledger.GENESIS)
            counts: dict[str, int] = {}
            problem = _check_chain(events) or _check_records(session, events, counts)
            checkpoints = session.scalars(select(AuditCheckpointRow).order_by(AuditCheckpointRow.id)).all()
            if problem is None and checkpoints:
                problem = self._check_checkpoints(checkpoints, events, public_key_path)
        return VerifyReport(ok=problem is None, events=len(events), head_seq=head_seq, head_hash=head_hash,
                            records=counts, checkpoints=len(checkpoints), problem=problem)

    def _check_checkpoints(self, checkpoints: Any, events: list[ledger.AuditEvent],
                           public_key_path: Path | None) -> Problem | None:
        public = load_public_key(public_key_path or self.signing_key_path)
        hash_at = {e.seq: e.hash for e in events}
        for row in checkpoints:
            message = checkpoint_message(row.seq, row.head_hash, row.signed_at, row.key_id)
            if row.key_id != key_id(public) or not verify_signature(public, base64.b64decode(row.signature), message):
                return Problem("bad_signature", f"checkpoint {row.id}",
                               f"checkpoint {row.id} (event {row.seq}) is not signed by the trusted key")
            if hash_at.get(row.seq, ledger.GENESIS if row.seq == 0 else None) != row.head_hash:
                return Problem("rewritten", f"checkpoint {row.id}",
                               f"the chain no longer has the head signed at event {row.seq} by checkpoint {row.id} "
                               f"on {format_utc(row.signed_at)}: the ledger was rewritten")
        return None


def _check_chain(events: list[ledger.AuditEvent]) -> Problem | None:
    owner_of = {e.hash: e.seq for e in events}
    previous_hash, expected = ledger.GENESIS, 1
    for event in events:
        if event.seq != expected:
            return Problem("deleted", f"event {expected}",
                           f"event {expected} is missing: the chain jumps from event {expected - 1} to {event.seq}")
        if event.prev_hash != previous_hash:
            linked = owner_of.get(event.prev_hash)
            if linked is not None:
                return Problem("reordered", f"event {event.seq}",
                               f"event {event.seq} follows event {linked}, not event {event.seq - 1}: "
                               "events were reordered")
            return Problem("inserted", f"event {event.seq}",
                           f"event {event.seq} does not follow any event of the chain: it was inserted or forged")
        recomputed = ledger.event_hash(seq=event.seq, at=event.at, actor=event.actor, action=event.action,
                                       subject=event.subject, payload_sha256=event.payload_sha256,
                                       prev_hash=event.prev_hash)
        if recomputed != event.hash:
            return Problem("changed", f"event {event.seq}",
                           f"event {event.seq} ({event.action} {event.subject}) was changed: it no longer hashes "
                           "to its recorded hash")
        if sha256_json(event.payload) != event.payload_sha256:
            return Problem("changed", f"event {event.seq}",
                           f"event {event.seq} ({event.action} {event.subject}): its payload was changed")
        previous_hash, expected = event.hash, expected + 1
    return None


def _check_records(session: Session, events: list[ledger.AuditEvent], counts: dict[str, int]) -> Problem | None:
    recorded = {(e.action, e.subject): e for e in events}
    versions = session.scalars(select(ModelVersionRow).order_by(ModelVersionRow.id)).all()
    counts["model_versions"] = len(versions)
    seen: set[tuple[str, str]] = set()
    for row in versions:
        version = repos.version_entity(session, row)
        problem = _compare("model version", version.ref, recorded.get(("model.registered", version.ref)),
                           ledger.field_hashes(version.record()))
        if problem:
            return problem
        seen.add(("model.registered", version.ref))
    explanations = session.scalars(select(ExplanationRow).order_by(ExplanationRow.requested_at)).all()
    counts["explanations"] = len(explanations)
    for row in explanations:
        record = ExplanationRecord.from_dict(dict(row.record)).to_dict()
        fields = ledger.field_hashes({k: v for k, v in record.items() if k != "record_sha256"})
        if record["record_sha256"] != row.record_sha256:
            return Problem("changed", f"explanation {row.id}", f"explanation {row.id} was changed: its record no "
                           "longer matches its stored hash")
        problem = _compare("explanation", row.id, recorded.get(("explanation.created", row.id)), fields)
        if problem:
            return problem
        seen.add(("explanation.created", row.id))
    moves = session.scalars(select(AliasEventRow).order_by(AliasEventRow.id)).all()
    counts["alias_moves"] = len(moves)
    by_id = {e.payload.get("alias_event_id"): e for e in events if e.action == "alias.moved"}
    for move in moves:
        event = by_id.get(move.id)
        stored = repos.alias_move_record(move)
        if event is None:
            return Problem("inserted", f"alias move {move.id}", f"alias move {move.id} has no ledger event: it was "
                           "written outside the ledger")
        if stored != event.payload:
            return Problem("changed", f"alias move {move.id}", f"alias move {move.id} was changed after ledger "
                           f"event {event.seq} recorded it",
                           tuple(k for k in stored if stored[k] != event.payload.get(k)))
    for action, noun in (("model.registered", "model version"), ("explanation.created", "explanation")):
        for (kind, subject), event in recorded.items():
            if kind == action and (kind, subject) not in seen:
                return Problem("deleted", f"{noun} {subject}", f"{noun} {subject}, recorded by ledger event "
                               f"{event.seq}, was deleted")
    return None


def _compare(noun: str, subject: str, event: ledger.AuditEvent | None, fields: dict[str, str]) -> Problem | None:
    if event is None:
        return Problem("inserted", f"{noun} {subject}",
                       f"{noun} {subject} has no ledger event: it was written outside the ledger")
    recorded = event.payload.get("fields", {})
    if sha256_json(fields) != event.payload.get("fields_sha256"):
        changed = tuple(sorted(k for k in set(fields) | set(recorded) if fields.get(k) != recorded.get(k)))
        return Problem("changed", f"{noun} {subject}",
                       f"{noun} {subject} was changed after ledger event {event.seq} recorded it"
                       + (f": {', '.join(changed)}" if changed else ""), changed)
    return None
