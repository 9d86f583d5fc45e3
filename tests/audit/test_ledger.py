"""The ledger records every write and lookup, and verify names each kind of tampering."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sklearn.pipeline import Pipeline
from sqlalchemy import delete, select, update

from xai_gov.audit.signing import create_signing_key
from xai_gov.canonical import sha256_json
from xai_gov.explain.records import ExplanationRecord
from xai_gov.sdk import Client
from xai_gov.store import ledger
from xai_gov.store.orm import AuditEventRow, ExplanationRow, LineageRow

QUICK = {"lime": {"num_samples": 300, "repeats": 2}, "anchor": {"repeats": 1, "fresh_samples": 200}}


@pytest.fixture
def audited(client: Client, small_model: Pipeline, german_xy: tuple[pd.DataFrame, pd.Series]) -> dict[str, Any]:
    X, y = german_xy
    client.create_signing_key()
    client.register(small_model, X, y, name="credit-risk", adverse_class="bad", trainer="alice", code_path=None,
                    alias="staging")
    applicant = {k: v.item() if hasattr(v, "item") else v for k, v in X.iloc[0].items()}
    first = client.explain("credit-risk@1", applicant, decision_id="D-1", methods=["lime", "anchor"],
                           parameters=QUICK)
    second = client.explain("credit-risk@1", applicant, decision_id="D-2", methods=["lime"], parameters=QUICK)
    client.lineage_by_trainer("alice")
    return {"client": client, "first": first, "second": second}


def problem(client: Client) -> Any:
    report = client.verify_ledger()
    assert not report.ok and report.problem is not None
    return report.problem


def test_every_write_and_lookup_is_chained_and_verifies(audited: dict[str, Any]) -> None:
    client: Client = audited["client"]
    events = client.audit_events()
    assert [e.action for e in events] == ["model.registered", "alias.moved", "explanation.created",
                                          "explanation.created", "lineage.lookup"]
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert events[0].prev_hash == ledger.GENESIS and all(b.prev_hash == a.hash for a, b in pairwise(events))
    assert events[2].subject == audited["first"].id and events[4].payload["results"] == ["credit-risk@1"]
    report = client.verify_ledger()
    assert report.ok and report.events == 5
    assert report.records == {"model_versions": 1, "explanations": 2, "alias_moves": 1, "aliases": 1, "api_keys": 0,
                              "monitoring_runs": 0}


def test_a_changed_score_is_caught_and_the_field_named(audited: dict[str, Any]) -> None:
    client: Client = audited["client"]
    record = audited["first"].to_dict()
    record["scores"]["fidelity"]["lime"]["fresh_weighted_r2"] = 0.99
    body = {k: v for k, v in record.items() if k != "record_sha256"}
    record["record_sha256"] = sha256_json(body)  # the tamperer even fixes the row's own hash
    with client.database.session() as session:
        session.execute(update(ExplanationRow).where(ExplanationRow.id == record["id"])
                        .values(record=record, record_sha256=record["record_sha256"]))
    found = problem(client)
    assert (found.kind, found.subject, found.fields) == ("changed", f"explanation {record['id']}", ("scores",))
    assert "after ledger event 3 recorded it: scores" in found.message


def test_changed_lineage_is_caught(audited: dict[str, Any]) -> None:
    client: Client = audited["client"]
    with client.database.session() as session:
        session.execute(update(LineageRow).values(trainer="mallory"))
    found = problem(client)
    assert (found.kind, found.subject, found.fields) == ("changed", "model version credit-risk@1", ("lineage",))


def test_a_deleted_event_is_named(audited: dict[str, Any]) -> None:
    client: Client = audited["client"]
    with client.database.session() as session:
        session.execute(delete(AuditEventRow).where(AuditEventRow.seq == 3))
    found = problem(client)
    assert (found.kind, found.subject) == ("deleted", "event 3")


def test_a_deleted_record_is_named(audited: dict[str, Any]) -> None:
    client: Client = audited["client"]
    with client.database.session() as session:
        session.execute(delete(ExplanationRow).where(ExplanationRow.id == audited["second"].id))
    found = problem(client)
    assert (found.kind, found.subject) == ("deleted", f"explanation {audited['second'].id}")


def test_swapped_events_are_named_reordered(audited: dict[str, Any]) -> None:
    client: Client = audited["client"]
    with client.database.session() as session:
        for old, new in ((2, 1000), (3, 2), (1000, 3)):
            session.execute(update(AuditEventRow).where(AuditEventRow.seq == old).values(seq=new))
    found = problem(client)
    assert (found.kind, found.subject) == ("reordered", "event 2")


def test_a_forged_event_is_named_inserted(audited: dict[str, Any]) -> None:
    client: Client = audited["client"]
    head = client.audit_events()[-1]
    with client.database.session() as session:
        session.add(AuditEventRow(seq=head.seq + 1, at=head.at, actor="mallory", action="lineage.lookup",
                                  subject="nothing to see", payload={}, payload_sha256=sha256_json({}),
                                  prev_hash="f" * 64, hash="e" * 64))
    found = problem(client)
    assert (found.kind, found.subject) == ("inserted", f"event {head.seq + 1}")


def test_an_edited_event_is_named_changed(audited: dict[str, Any]) -> None:
    client: Client = audited["client"]
    with client.database.session() as session:
        session.execute(update(AuditEventRow).where(AuditEventRow.seq == 5).values(actor="someone-else"))
    found = problem(client)
    assert (found.kind, found.subject) == ("changed", "event 5")


def test_a_full_rewrite_is_caught_by_the_signed_checkpoint(audited: dict[str, Any]) -> None:
    client: Client = audited["client"]
    checkpoint = client.checkpoint()
    assert checkpoint.seq == 5 and client.verify_ledger().ok
    # Someone with database access changes a score and rewrites the whole chain consistently.
    record = audited["first"].to_dict()
    record["scores"]["fidelity"]["lime"]["fresh_weighted_r2"] = 0.99
    body = {k: v for k, v in record.items() if k != "record_sha256"}
    with client.database.session() as session:
        session.execute(update(ExplanationRow).where(ExplanationRow.id == record["id"])
                        .values(record=record, record_sha256=sha256_json(body)))
        rows = session.scalars(select(AuditEventRow).order_by(AuditEventRow.seq)).all()
        previous = ledger.GENESIS
        for row in rows:
            if row.subject == record["id"]:
                row.payload = ledger.record_payload(ExplanationRecord.from_dict(record).body(),
                                                    decision_id="D-1", model="credit-risk@1")
                row.payload_sha256 = sha256_json(row.payload)
            row.prev_hash = previous
            row.hash = ledger.event_hash(seq=row.seq, at=row.at, actor=row.actor, action=row.action,
                                         subject=row.subject, payload_sha256=row.payload_sha256, prev_hash=previous)
            previous = row.hash
    found = problem(client)
    assert (found.kind, found.subject) == ("rewritten", f"checkpoint {checkpoint.id}")


def test_a_checkpoint_signed_by_another_key_is_refused(audited: dict[str, Any], tmp_path: Path) -> None:
    client: Client = audited["client"]
    client.checkpoint()
    other = tmp_path / "other.pem"
    create_signing_key(other)
    report = client.verify_ledger(public_key=other)
    assert report.problem is not None and report.problem.kind == "bad_signature"


def test_public_key_export_verifies(audited: dict[str, Any], tmp_path: Path) -> None:
    client: Client = audited["client"]
    client.checkpoint()
    exported = tmp_path / "ledger.pub"
    exported.write_text(client.audit.public_key_pem())
    assert "PRIVATE" not in exported.read_text()
    assert client.verify_ledger(public_key=exported).ok
