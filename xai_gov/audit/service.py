"""Verify the ledger and every record it covers; sign checkpoints of its head.

``verify`` walks the chain in sequence order and recomputes every event's hash;
then checks every stored fact that decides an answer against the event that
recorded it (``xai_gov.audit.records``: model versions, explanations with their
lookup columns, alias pointers, API keys, checkpoint rows); then every
checkpoint's signature with the trusted public key and that the chain still has
the signed head at the signed position. With ``artifacts=True`` it re-hashes
every stored artifact file; with ``checkpoint_dir`` it checks the database
against checkpoint files copied out of it (``xai_gov.audit.checkpoints``). It
stops at the first problem and names it: which record, which fields, and whether
it was changed, deleted, inserted, reordered, rewritten or truncated.

It also warns (the report stays ``ok``; the CLI exits 3) when there is no signed
checkpoint, or the head is more than ``schedule.max_lag_events`` past the newest:
events after the newest checkpoint can be rewritten consistently by someone with
write access to the database, and only a checkpoint kept outside it shows that.
"""

from __future__ import annotations

import base64
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from xai_gov.actors import Actor
from xai_gov.audit.checkpoints import (
    Checkpoint,
    CheckpointFiles,
    CheckpointSchedule,
    check_against_chain,
    check_files,
    checkpoint_message,
)
from xai_gov.audit.records import Events, Problem, check_store
from xai_gov.audit.signing import key_id, load_private_key, load_public_key, public_pem
from xai_gov.canonical import sha256_json
from xai_gov.errors import IntegrityError, InvalidInput, NotFound
from xai_gov.registry.artifacts import ArtifactStore
from xai_gov.store import audited, ledger
from xai_gov.store.db import Database
from xai_gov.timeutil import utcnow

__all__ = ["AuditService", "Checkpoint", "Problem", "VerifyReport"]


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    events: int
    head_seq: int
    head_hash: str
    records: dict[str, int] = field(default_factory=dict)
    checkpoints: int = 0
    problem: Problem | None = None
    warnings: tuple[str, ...] = ()
    artifacts: int | None = None  # files re-hashed, when asked
    checkpoint_files: int | None = None  # checkpoints read from files, when asked

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "events": self.events, "head_seq": self.head_seq, "head_hash": self.head_hash,
                "records": self.records, "checkpoints": self.checkpoints,
                "problem": None if self.problem is None else self.problem.to_dict(),
                "warnings": list(self.warnings), "artifacts": self.artifacts,
                "checkpoint_files": self.checkpoint_files}


def _checkpoint(stored: ledger.StoredCheckpoint) -> Checkpoint:
    return Checkpoint(**asdict(stored))


class AuditService:
    def __init__(self, *, database: Database, signing_key_path: Path, artifacts: ArtifactStore | None = None,
                 checkpoint_dir: Path | None = None, schedule: CheckpointSchedule | None = None) -> None:
        self.database = database
        self.signing_key_path = signing_key_path
        self.artifacts = artifacts
        self.checkpoint_dir = checkpoint_dir
        self.schedule = schedule or CheckpointSchedule()

    def events(self, *, after: int = 0, limit: int = 100) -> list[ledger.AuditEvent]:
        with self.database.session() as session:
            return ledger.events_after(session, after=after, limit=limit)

    def public_key_pem(self) -> str:
        return public_pem(load_public_key(self.signing_key_path))

    # -- signing ------------------------------------------------------------------

    def checkpoint(self, *, actor: Actor, full: bool = True) -> Checkpoint:
        """Verify, then sign the chain's head; the checkpoint is recorded in the ledger and appended to the
        checkpoint files.

        ``full`` (``xai-gov audit checkpoint``, the API): the whole ledger and every record, as ``verify``.
        Otherwise (the service's scheduled checkpoints) only what the newest checkpoint does not already
        vouch for: that checkpoint's signature and head, and the events after it. The full check grows with
        the store and ran in the service every N events, taking the CPU lookups needed; a record is checked
        against the hash its event keeps whenever ``verify`` runs, signed or not."""
        problem = self.verify().problem if full else self._problem_since_newest_checkpoint()
        if problem is not None:
            raise InvalidInput(f"the ledger does not verify, so it is not signed: {problem.message}",
                               code="ledger_broken")
        private = load_private_key(self.signing_key_path)
        signer = key_id(private.public_key())
        with self.database.session() as session:
            ledger.lock(session)  # the head read below is the head the checkpoint event follows
            seq, head_hash = ledger.head(session)
            signed_at = utcnow()
            signature = private.sign(checkpoint_message(seq, head_hash, signed_at, signer))
            checkpoint = _checkpoint(ledger.add_checkpoint(
                session, seq=seq, head_hash=head_hash, signed_at=signed_at, signed_by=actor.name, key_id=signer,
                signature=base64.b64encode(signature).decode("ascii")))
            ledger.append(session, actor=actor.name, action="checkpoint.signed", subject=f"checkpoint {checkpoint.id}",
                          payload=checkpoint.to_dict())
        if self.checkpoint_dir is not None:
            CheckpointFiles(self.checkpoint_dir).append(checkpoint)
        return checkpoint

    def checkpoint_due(self) -> bool:
        """Whether the schedule asks for a checkpoint now (something was appended since the last one)."""
        with self.database.session() as session:
            head_seq, _ = ledger.head(session)
            newest = ledger.newest_checkpoint(session)
            return self.schedule.due(head_seq=head_seq, newest=None if newest is None else _checkpoint(newest),
                                     first_event_at=ledger.first_event_at(session), now=utcnow())

    def checkpoint_if_due(self, *, actor: Actor) -> Checkpoint | None:
        """Sign when the schedule says so (every N events or M minutes); None when not due."""
        return self.checkpoint(actor=actor, full=False) if self.checkpoint_due() else None

    def _problem_since_newest_checkpoint(self) -> Problem | None:
        """The newest checkpoint is signed by the trusted key and its head is still in the chain, and the
        events after it follow that head and hash to their recorded hashes; with no checkpoint yet, the full
        verification."""
        with self.database.session() as session:
            stored = ledger.newest_checkpoint(session)
            newest = None if stored is None else _checkpoint(stored)
            events = [] if newest is None else ledger.events_after(session, after=max(newest.seq - 1, 0))
        if newest is None:
            return self.verify().problem
        return _check_signed([newest], events, load_public_key(self.signing_key_path)) or _check_chain(
            [e for e in events if e.seq > newest.seq], after=(newest.seq, newest.head_hash))

    # -- verification -----------------------------------------------------------------

    def verify(self, *, public_key_path: Path | None = None, artifacts: bool = False,
               checkpoint_dir: Path | None = None) -> VerifyReport:
        files = CheckpointFiles(checkpoint_dir).read() if checkpoint_dir is not None else None
        with self.database.session() as session:
            events = ledger.events_after(session)
            head_seq, head_hash = (events[-1].seq, events[-1].hash) if events else (0, ledger.GENESIS)
            counts: dict[str, int] = {}
            problem = _check_chain(events) or check_store(session, Events(events), counts)
            stored = [_checkpoint(c) for c in ledger.checkpoints(session)]
            if problem is None and (stored or files):
                public = load_public_key(public_key_path or self.signing_key_path)
                problem = _check_signed(stored, events, public)
                if problem is None and files is not None:
                    problem = check_files(files, {c.id: c for c in stored}, events, public)
            rehashed = None
            if problem is None and artifacts:
                rehashed, problem = self._check_artifact_files(session)
        return VerifyReport(ok=problem is None, events=len(events), head_seq=head_seq, head_hash=head_hash,
                            records=counts, checkpoints=len(stored), problem=problem,
                            warnings=self._warnings(stored, head_seq) if problem is None else (),
                            artifacts=rehashed, checkpoint_files=None if files is None else len(files))

    def _warnings(self, stored: list[Checkpoint], head_seq: int) -> tuple[str, ...]:
        if head_seq == 0:
            return ()
        if not stored:
            return (f"no signed checkpoint: the {head_seq} events could be rewritten consistently by anyone with "
                    "write access to the database (run `xai-gov audit checkpoint`)",)
        newest = max(stored, key=lambda c: c.seq)
        lag = head_seq - newest.seq
        if lag > self.schedule.max_lag_events:
            return (f"the head (event {head_seq}) is {lag} events past the newest checkpoint {newest.id} (event "
                    f"{newest.seq}); more than the {self.schedule.max_lag_events} allowed",)
        return ()

    def _check_artifact_files(self, session: Session) -> tuple[int, Problem | None]:
        """Re-hash every file a model version names (each distinct file once)."""
        if self.artifacts is None:
            raise NotFound("this service has no artifact directory to check", field="artifacts")
        checked: dict[str, Problem | None] = {}
        for version in audited.versions(session):
            ref = version.ref
            for column, sha in (("artifact_sha256", version.artifact_sha256),
                                ("background_sha256", version.background_sha256)):
                if sha is None:
                    continue
                if sha not in checked:
                    checked[sha] = self._check_file(ref, column, sha)
                if checked[sha] is not None:
                    return len(checked), checked[sha]
        return len(checked), None

    def _check_file(self, ref: str, column: str, sha: str) -> Problem | None:
        assert self.artifacts is not None
        subject = f"model version {ref}"
        try:
            self.artifacts.get(sha)
        except NotFound:
            return Problem("deleted", subject, f"the {column.removesuffix('_sha256')} file of {ref} "
                           f"({self.artifacts.path(sha)}) is missing", (f"{column.removesuffix('_sha256')}_file",))
        except IntegrityError as exc:
            return Problem("changed", subject, f"the {column.removesuffix('_sha256')} file of {ref} was changed on "
                           f"disk: {exc.message}", (f"{column.removesuffix('_sha256')}_file",))
        return None


def _check_signed(stored: list[Checkpoint], events: list[ledger.AuditEvent], public: Any) -> Problem | None:
    for checkpoint in stored:
        if not checkpoint.signature_ok(public):
            return Problem("bad_signature", f"checkpoint {checkpoint.id}",
                           f"checkpoint {checkpoint.id} (event {checkpoint.seq}) is not signed by the trusted key",
                           ("signature",))
        problem = check_against_chain(checkpoint, events, "the database")
        if problem:
            return problem
    return None


def _check_chain(events: list[ledger.AuditEvent], *, after: tuple[int, str] = (0, ledger.GENESIS)) -> Problem | None:
    """The events, in order, follow ``after`` (the sequence number and hash of the event before the first;
    by default the chain's start) and hash to their recorded hashes."""
    owner_of = {e.hash: e.seq for e in events}
    expected, previous_hash = after[0] + 1, after[1]
    for event in events:
        if event.seq != expected:
            return Problem("deleted", f"event {expected}",
                           f"event {expected} is missing: the chain jumps from event {expected - 1} to {event.seq}")
        if event.prev_hash != previous_hash:
            linked = owner_of.get(event.prev_hash)
            if linked is not None:
                return Problem("reordered", f"event {event.seq}",
                               f"event {event.seq} follows event {linked}, not event {event.seq - 1}: "
                               "events were reordered", ("prev_hash",))
            return Problem("inserted", f"event {event.seq}",
                           f"event {event.seq} does not follow any event of the chain: it was inserted or forged",
                           ("prev_hash",))
        recomputed = ledger.event_hash(seq=event.seq, at=event.at, actor=event.actor, action=event.action,
                                       subject=event.subject, payload_sha256=event.payload_sha256,
                                       prev_hash=event.prev_hash)
        if recomputed != event.hash:
            return Problem("changed", f"event {event.seq}",
                           f"event {event.seq} ({event.action} {event.subject}) was changed: it no longer hashes "
                           "to its recorded hash")
        if sha256_json(event.payload) != event.payload_sha256:
            return Problem("changed", f"event {event.seq}",
                           f"event {event.seq} ({event.action} {event.subject}): its payload was changed",
                           ("payload",))
        previous_hash, expected = event.hash, expected + 1
    return None
