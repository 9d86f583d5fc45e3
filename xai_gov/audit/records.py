"""Each stored fact that decides an answer, checked against the ledger event that recorded it.

Covered: model versions (every field, with the artifact and background hashes and
the lineage), explanations (the record's JSON and the columns lookups use: model
version, decision id, requester, time, instance hash), alias pointers (each
``alias.moved`` event carries the pointer it set), API keys (name, role, key
hash, creation, revocation) and checkpoint rows (each matches its
``checkpoint.signed`` event). ``verify`` (``xai_gov.audit.service``) runs every
check over the whole store; the registry runs the version and alias checks on
every resolution, so a pointer or row changed outside the ledger is refused
before anything is explained with it.

A check names the record, the fields and the kind of change; it cannot see a
record and its event rewritten together with the whole chain after the last
signed checkpoint (see ``xai_gov.audit.checkpoints``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xai_gov.audit import ledger
from xai_gov.canonical import sha256_json
from xai_gov.errors import IntegrityError
from xai_gov.explain.records import ExplanationRecord
from xai_gov.registry.models import ModelRef, ModelVersion
from xai_gov.store import monitoring as monitoring_repo
from xai_gov.store import repos
from xai_gov.store.orm import (
    AliasEventRow,
    AliasRow,
    ApiKeyRow,
    AuditCheckpointRow,
    AuditEventRow,
    ExplanationRow,
    ModelVersionRow,
)
from xai_gov.timeutil import format_utc


@dataclass(frozen=True)
class Problem:
    """The first thing that does not verify: its kind (changed, deleted, inserted, reordered,
    bad_signature, rewritten, truncated, missing), the record it concerns, a sentence, and the fields."""

    kind: str
    subject: str  # "event 17", "explanation 3f2a...", "model version credit-risk@1", "alias credit-risk@staging"
    message: str
    fields: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "subject": self.subject, "message": self.message, "fields": list(self.fields)}


class Events:
    """The ledger's events indexed the ways the checks look them up."""

    def __init__(self, events: Iterable[ledger.AuditEvent]) -> None:
        self.all = list(events)
        self.first: dict[tuple[str, str], ledger.AuditEvent] = {}
        self.last: dict[tuple[str, str], ledger.AuditEvent] = {}
        for event in self.all:
            self.first.setdefault((event.action, event.subject), event)
            self.last[(event.action, event.subject)] = event

    def of(self, action: str) -> dict[str, ledger.AuditEvent]:
        return {subject: e for (kind, subject), e in self.first.items() if kind == action}


# -- model versions ---------------------------------------------------------------


def check_version(session: Session, row: ModelVersionRow, event: ledger.AuditEvent | None) -> Problem | None:
    version = repos.version_entity(session, row)
    return compare_fields("model version", version.ref, event, ledger.field_hashes(version.record()))


def compare_fields(noun: str, subject: str, event: ledger.AuditEvent | None, fields: dict[str, str]) -> Problem | None:
    """A record's field hashes against those its ledger event recorded."""
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


# -- explanations -----------------------------------------------------------------


def check_explanation(session: Session, row: ExplanationRow, event: ledger.AuditEvent | None) -> Problem | None:
    """The record's JSON against its event, then every lookup column against the (now trusted) JSON."""
    subject = f"explanation {row.id}"
    record = ExplanationRecord.from_dict(dict(row.record))
    stored = record.to_dict()
    if stored["record_sha256"] != row.record_sha256:
        return Problem("changed", subject, f"{subject} was changed: its record no longer matches its stored hash",
                       ("record_sha256",))
    problem = compare_fields("explanation", row.id, event, ledger.field_hashes(record.body()))
    if problem:
        return problem
    if row.id != record.id:
        return Problem("changed", subject, f"{subject}'s id column says {row.id} but its record says {record.id}",
                       ("id",))
    version = session.get(ModelVersionRow, row.model_version_id)
    columns = {
        "model_version_id": (None if version is None else f"{version.model.name}@{version.version}",
                             record.model_ref),
        "decision_id": (row.decision_id, record.decision_id),
        "requested_by": (row.requested_by, record.requested_by),
        "requested_at": (format_utc(row.requested_at), format_utc(record.requested_at)),
        "instance_sha256": (row.instance_sha256, record.instance_sha256),
    }
    changed = tuple(name for name, (column, recorded) in columns.items() if column != recorded)
    if changed:
        details = "; ".join(f"{name} gives {columns[name][0]!r}, the record {columns[name][1]!r}" for name in changed)
        return Problem("changed", subject, f"{subject}'s lookup columns no longer match the record ledger event "
                       f"{event.seq if event else '?'} covers: {details}", changed)
    return None


# -- aliases ----------------------------------------------------------------------


def alias_pointer(session: Session, model_version_id: int) -> dict[str, Any]:
    """What an ``alias.moved`` event records of where the alias now points."""
    row = session.get(ModelVersionRow, model_version_id)
    ref = None if row is None else f"{row.model.name}@{row.version}"
    return {"model_version_id": model_version_id, "ref": ref}


def check_alias(session: Session, row: AliasRow, last_move: ledger.AuditEvent | None) -> Problem | None:
    """The alias's current pointer against the pointer its last recorded move set."""
    name = row.model.name
    subject = f"alias {name}@{row.alias}"
    if last_move is None:
        return Problem("inserted", subject, f"{subject} has no ledger event: it was created outside the ledger",
                       ("model_version_id",))
    now = alias_pointer(session, row.model_version_id)
    payload = last_move.payload
    pointer = payload.get("pointer")
    if pointer is not None:
        expected = pointer
    else:  # events written before moves carried the pointer: the model and version number they name
        target = session.scalar(select(ModelVersionRow).where(ModelVersionRow.model_id == payload.get("model_id"),
                                                              ModelVersionRow.version == payload.get("to_version")))
        expected = {"model_version_id": None if target is None else target.id,
                    "ref": None if target is None else f"{target.model.name}@{target.version}"}
    if now["model_version_id"] != expected.get("model_version_id") or row.model_id != payload.get("model_id"):
        return Problem("changed", subject,
                       f"{subject} points to {now['ref'] or 'a missing version'}, but its last move (ledger event "
                       f"{last_move.seq}, by {last_move.actor}) set it to {expected.get('ref')}: the pointer was "
                       "changed outside the ledger", ("model_version_id",))
    return None


def check_alias_move(row: AliasEventRow, event: ledger.AuditEvent | None) -> Problem | None:
    subject = f"alias move {row.id}"
    if event is None:
        return Problem("inserted", subject, f"{subject} has no ledger event: it was written outside the ledger")
    stored = repos.alias_move_record(row)
    changed = tuple(k for k in stored if stored[k] != event.payload.get(k))
    if changed:
        return Problem("changed", subject, f"{subject} was changed after ledger event {event.seq} recorded it: "
                       f"{', '.join(changed)}", changed)
    return None


# -- API keys ---------------------------------------------------------------------


def key_record(row: ApiKeyRow) -> dict[str, Any]:
    """What the ledger covers of a key at creation (the key itself is never stored: only its hash)."""
    return {"id": row.id, "prefix": row.prefix, "name": row.name, "role": row.role, "key_sha256": row.key_sha256,
            "created_at": format_utc(row.created_at), "created_by": row.created_by}


def check_key(row: ApiKeyRow, created: ledger.AuditEvent | None, revoked: ledger.AuditEvent | None) -> Problem | None:
    subject = f"key {row.prefix}"
    if created is None:
        return Problem("inserted", subject, f"{subject} has no ledger event: it was created outside the ledger")
    payload = created.payload
    if "fields" in payload:
        problem = compare_fields("key", row.prefix, created, ledger.field_hashes(key_record(row)))
        if problem:
            return problem
    else:  # keys created before the ledger covered every field: the ones their event names
        stored = key_record(row)
        changed = tuple(k for k in ("id", "prefix", "name", "role") if payload.get(k) != stored[k])
        if changed:
            return Problem("changed", subject, f"{subject} was changed after ledger event {created.seq} recorded it: "
                           f"{', '.join(changed)}", changed)
    if revoked is None and row.revoked_at is not None:
        return Problem("changed", subject, f"{subject} is marked revoked but no ledger event revoked it",
                       ("revoked_at",))
    if revoked is not None:
        if row.revoked_at is None:
            return Problem("changed", subject, f"{subject} was revoked by ledger event {revoked.seq} but the row no "
                           "longer says so: it was un-revoked outside the ledger", ("revoked_at",))
        recorded = revoked.payload
        now = {"revoked_at": format_utc(row.revoked_at), "revoked_by": row.revoked_by}
        changed = tuple(k for k in now if k in recorded and recorded[k] != now[k])
        if changed:
            return Problem("changed", subject, f"{subject}'s revocation was changed after ledger event {revoked.seq} "
                           f"recorded it: {', '.join(changed)}", changed)
    return None


# -- checkpoints ------------------------------------------------------------------


def checkpoint_record(row: AuditCheckpointRow) -> dict[str, Any]:
    return {"id": row.id, "seq": row.seq, "head_hash": row.head_hash, "signed_at": format_utc(row.signed_at),
            "signed_by": row.signed_by, "key_id": row.key_id, "signature": row.signature}


def check_checkpoint(row: AuditCheckpointRow, event: ledger.AuditEvent | None, head_seq: int) -> Problem | None:
    subject = f"checkpoint {row.id}"
    if event is None:
        where = "the chain was truncated" if head_seq <= row.seq else "it was deleted"
        return Problem("deleted", subject, f"the ledger event recording {subject} (signed at event {row.seq}) is "
                       f"missing: {where}", ("event",))
    stored = checkpoint_record(row)
    changed = tuple(k for k in stored if event.payload.get(k) != stored[k])
    if changed:
        return Problem("changed", subject, f"{subject} was changed after ledger event {event.seq} recorded it: "
                       f"{', '.join(changed)}", changed)
    return None


# -- the whole store --------------------------------------------------------------


def check_store(session: Session, events: Events, counts: dict[str, int]) -> Problem | None:
    """Every record of every kind against the ledger; the first problem found, or None."""
    head_seq = events.all[-1].seq if events.all else 0
    checks = (_versions, _explanations, _aliases, _keys, _monitoring_runs, _checkpoints)
    for check in checks:
        problem = check(session, events, counts, head_seq)
        if problem:
            return problem
    return None


def _unseen(events: Events, action: str, seen: set[str], noun: str) -> Problem | None:
    for subject, event in events.of(action).items():
        if subject not in seen:
            name = f"{noun} {subject}".strip()
            return Problem("deleted", name, f"{name}, recorded by ledger event {event.seq}, was deleted", ("row",))
    return None


def _versions(session: Session, events: Events, counts: dict[str, int], _head: int) -> Problem | None:
    rows = session.scalars(select(ModelVersionRow).order_by(ModelVersionRow.id)).all()
    counts["model_versions"] = len(rows)
    seen = set()
    for row in rows:
        ref = f"{row.model.name}@{row.version}"
        problem = check_version(session, row, events.first.get(("model.registered", ref)))
        if problem:
            return problem
        seen.add(ref)
    return _unseen(events, "model.registered", seen, "model version")


def _explanations(session: Session, events: Events, counts: dict[str, int], _head: int) -> Problem | None:
    rows = session.scalars(select(ExplanationRow).order_by(ExplanationRow.requested_at, ExplanationRow.id)).all()
    counts["explanations"] = len(rows)
    for row in rows:
        problem = check_explanation(session, row, events.first.get(("explanation.created", row.id)))
        if problem:
            return problem
    return _unseen(events, "explanation.created", {row.id for row in rows}, "explanation")


def _aliases(session: Session, events: Events, counts: dict[str, int], _head: int) -> Problem | None:
    moves = session.scalars(select(AliasEventRow).order_by(AliasEventRow.id)).all()
    counts["alias_moves"] = len(moves)
    by_id = {e.payload.get("alias_event_id"): e for e in events.all if e.action == "alias.moved"}
    for move in moves:
        problem = check_alias_move(move, by_id.get(move.id))
        if problem:
            return problem
    pointers = session.scalars(select(AliasRow).order_by(AliasRow.model_id, AliasRow.alias)).all()
    counts["aliases"] = len(pointers)
    seen = set()
    for row in pointers:
        subject = f"{row.model.name}@{row.alias}"
        problem = check_alias(session, row, events.last.get(("alias.moved", subject)))
        if problem:
            return problem
        seen.add(subject)
    return _unseen(events, "alias.moved", seen, "alias")


def _monitoring_runs(session: Session, events: Events, counts: dict[str, int], _head: int) -> Problem | None:
    """Each stored monitoring run: its record against its stored hash, then field by field against its event."""
    runs = monitoring_repo.all_runs(session)
    counts["monitoring_runs"] = len(runs)
    for run_id, record, record_sha256 in runs:
        if sha256_json(record) != record_sha256:
            return Problem("changed", f"monitoring run {run_id}", f"monitoring run {run_id} was changed: its record "
                           "no longer matches its stored hash", ("record",))
        problem = compare_fields("monitoring run", run_id, events.first.get(("monitoring.run", run_id)),
                                 ledger.field_hashes(record))
        if problem:
            return problem
    return _unseen(events, "monitoring.run", {run_id for run_id, _, _ in runs}, "monitoring run")


def _keys(session: Session, events: Events, counts: dict[str, int], _head: int) -> Problem | None:
    rows = session.scalars(select(ApiKeyRow).order_by(ApiKeyRow.id)).all()
    counts["api_keys"] = len(rows)
    for row in rows:
        subject = f"key {row.prefix}"
        problem = check_key(row, events.first.get(("key.created", subject)), events.first.get(("key.revoked",
                                                                                                subject)))
        if problem:
            return problem
    return _unseen(events, "key.created", {f"key {row.prefix}" for row in rows}, "")


def _checkpoints(session: Session, events: Events, counts: dict[str, int], head: int) -> Problem | None:
    rows = session.scalars(select(AuditCheckpointRow).order_by(AuditCheckpointRow.id)).all()
    for row in rows:
        problem = check_checkpoint(row, events.first.get(("checkpoint.signed", f"checkpoint {row.id}")), head)
        if problem:
            return problem
    return _unseen(events, "checkpoint.signed", {f"checkpoint {row.id}" for row in rows}, "")


def last_event(session: Session, *, action: str, subject: str) -> ledger.AuditEvent | None:
    """The newest event recording ``action`` on ``subject`` (e.g. an alias's last move)."""
    row = session.scalar(select(AuditEventRow).where(AuditEventRow.action == action, AuditEventRow.subject == subject)
                         .order_by(AuditEventRow.seq.desc()).limit(1))
    return None if row is None else ledger.to_event(row)


# -- resolution through the ledger --------------------------------------------------


def resolve_verified(session: Session, ref: ModelRef) -> ModelVersion:
    """The version ``ref`` names, resolved through the ledger: an alias must point where its last
    recorded move set it, and the version's row (artifact and background hashes included) must hash
    as it did when registered. Otherwise IntegrityError, naming what changed: nothing is explained
    with a model the ledger does not vouch for."""
    row = repos.version_row(session, ref)
    if ref.alias is not None:
        subject = f"{ref.name}@{ref.alias}"
        problem = check_alias(session, repos.alias_row(session, ref.name, ref.alias),
                              last_event(session, action="alias.moved", subject=subject))
        if problem:
            raise IntegrityError(f"{problem.message}; refusing to resolve {subject}", code="alias_pointer_changed",
                                 field="model")
    version_ref = f"{row.model.name}@{row.version}"
    problem = check_version(session, row, ledger.find_event(session, action="model.registered", subject=version_ref))
    if problem:
        raise IntegrityError(f"{problem.message}; refusing to use {version_ref}", code="model_version_changed",
                             field="model")
    return repos.version_entity(session, row)
