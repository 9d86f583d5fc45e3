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

from sqlalchemy.orm import Session

from xai_gov.canonical import sha256_json
from xai_gov.errors import IntegrityError
from xai_gov.explain.records import ExplanationRecord
from xai_gov.registry.models import ModelRef, ModelVersion
from xai_gov.store import audited, ledger
from xai_gov.store import monitoring as monitoring_repo
from xai_gov.store.audited import StoredAlias, StoredExplanation
from xai_gov.store.keys import StoredKey, all_keys
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


def check_version(version: ModelVersion, event: ledger.AuditEvent | None) -> Problem | None:
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


def check_explanation(_session: Session, row: StoredExplanation, event: ledger.AuditEvent | None) -> Problem | None:
    """The record's JSON against its event, then every lookup column against the (now trusted) JSON.
    (``_session`` is unused: explain/service.py still passes one.)"""
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
    columns = {
        "model_version_id": (row.model_ref, record.model_ref),
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
    return {"model_version_id": model_version_id, "ref": audited.version_ref(session, model_version_id)}


def check_alias(session: Session, row: StoredAlias, last_move: ledger.AuditEvent | None) -> Problem | None:
    """The alias's current pointer against the pointer its last recorded move set."""
    name = row.model_name
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
        target_id, target_ref = audited.version_by_number(session, payload.get("model_id"), payload.get("to_version"))
        expected = {"model_version_id": target_id, "ref": target_ref}
    if now["model_version_id"] != expected.get("model_version_id") or row.model_id != payload.get("model_id"):
        return Problem("changed", subject,
                       f"{subject} points to {now['ref'] or 'a missing version'}, but its last move (ledger event "
                       f"{last_move.seq}, by {last_move.actor}) set it to {expected.get('ref')}: the pointer was "
                       "changed outside the ledger", ("model_version_id",))
    return None


def check_alias_move(move_id: int, stored: dict[str, Any], event: ledger.AuditEvent | None) -> Problem | None:
    subject = f"alias move {move_id}"
    if event is None:
        return Problem("inserted", subject, f"{subject} has no ledger event: it was written outside the ledger")
    changed = tuple(k for k in stored if stored[k] != event.payload.get(k))
    if changed:
        return Problem("changed", subject, f"{subject} was changed after ledger event {event.seq} recorded it: "
                       f"{', '.join(changed)}", changed)
    return None


# -- API keys ---------------------------------------------------------------------


def check_key(row: StoredKey, created: ledger.AuditEvent | None, revoked: ledger.AuditEvent | None) -> Problem | None:
    subject = f"key {row.prefix}"
    if created is None:
        return Problem("inserted", subject, f"{subject} has no ledger event: it was created outside the ledger")
    payload = created.payload
    if "fields" in payload:
        problem = compare_fields("key", row.prefix, created, ledger.field_hashes(row.record()))
        if problem:
            return problem
    else:  # keys created before the ledger covered every field: the ones their event names
        stored = row.record()
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


def check_checkpoint(row: ledger.StoredCheckpoint, event: ledger.AuditEvent | None, head_seq: int) -> Problem | None:
    subject = f"checkpoint {row.id}"
    if event is None:
        where = "the chain was truncated" if head_seq <= row.seq else "it was deleted"
        return Problem("deleted", subject, f"the ledger event recording {subject} (signed at event {row.seq}) is "
                       f"missing: {where}", ("event",))
    stored = row.to_dict()
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
    stored = audited.versions(session)
    counts["model_versions"] = len(stored)
    seen = set()
    for version in stored:
        problem = check_version(version, events.first.get(("model.registered", version.ref)))
        if problem:
            return problem
        seen.add(version.ref)
    return _unseen(events, "model.registered", seen, "model version")


def _explanations(session: Session, events: Events, counts: dict[str, int], _head: int) -> Problem | None:
    rows = audited.explanations(session)
    counts["explanations"] = len(rows)
    for row in rows:
        problem = check_explanation(session, row, events.first.get(("explanation.created", row.id)))
        if problem:
            return problem
    return _unseen(events, "explanation.created", {row.id for row in rows}, "explanation")


def _aliases(session: Session, events: Events, counts: dict[str, int], _head: int) -> Problem | None:
    moves = audited.alias_moves(session)
    counts["alias_moves"] = len(moves)
    by_id = {e.payload.get("alias_event_id"): e for e in events.all if e.action == "alias.moved"}
    for move_id, record in moves:
        problem = check_alias_move(move_id, record, by_id.get(move_id))
        if problem:
            return problem
    pointers = audited.aliases(session)
    counts["aliases"] = len(pointers)
    seen = set()
    for row in pointers:
        subject = f"{row.model_name}@{row.alias}"
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
    rows = all_keys(session)
    counts["api_keys"] = len(rows)
    for row in rows:
        subject = f"key {row.prefix}"
        problem = check_key(row, events.first.get(("key.created", subject)), events.first.get(("key.revoked",
                                                                                                subject)))
        if problem:
            return problem
    return _unseen(events, "key.created", {f"key {row.prefix}" for row in rows}, "")


def _checkpoints(session: Session, events: Events, counts: dict[str, int], head: int) -> Problem | None:
    rows = ledger.checkpoints(session)
    for row in rows:
        problem = check_checkpoint(row, events.first.get(("checkpoint.signed", f"checkpoint {row.id}")), head)
        if problem:
            return problem
    return _unseen(events, "checkpoint.signed", {f"checkpoint {row.id}" for row in rows}, "")


# -- resolution through the ledger --------------------------------------------------


def resolve_verified(session: Session, ref: ModelRef) -> ModelVersion:
    """The version ``ref`` names, resolved through the ledger: an alias must point where its last
    recorded move set it, and the version's row (artifact and background hashes included) must hash
    as it did when registered. Otherwise IntegrityError, naming what changed: nothing is explained
    with a model the ledger does not vouch for."""
    version = audited.resolve(session, ref)
    if ref.alias is not None:
        subject = f"{ref.name}@{ref.alias}"
        problem = check_alias(session, audited.alias(session, ref.name, ref.alias),
                              ledger.last_event(session, action="alias.moved", subject=subject))
        if problem:
            raise IntegrityError(f"{problem.message}; refusing to resolve {subject}", code="alias_pointer_changed",
                                 field="model")
    version_ref = version.ref
    problem = check_version(version, ledger.find_event(session, action="model.registered", subject=version_ref))
    if problem:
        raise IntegrityError(f"{problem.message}; refusing to use {version_ref}", code="model_version_changed",
                             field="model")
    return version
