"""The two-person production gate on SQLite and PostgreSQL: approval by a second person, clean code, the
policy's lineage; every refused attempt a ledger event with its reasons."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from xai_gov.actors import Actor, Role
from xai_gov.errors import Conflict, PermissionDenied
from xai_gov.policies.evaluate import PolicyViolation
from xai_gov.registry.models import ModelVersion
from xai_gov.registry.service import same_person
from xai_gov.sdk import Client

OTTO = Actor("otto (a1b2c3d4)", Role.OWNER)
ADA = Actor("ada (e5f6a7b8)", Role.APPROVER)
COMPLETE: dict[str, Any] = {
    "repository_url": "https://git.bank.example/risk.git", "commit": "c" * 40, "code_dirty": False,
    "metrics": {"auc": 0.8}, "seeds": {"split": 42}, "training_started_at": datetime(2026, 11, 1, tzinfo=UTC),
    "training_ended_at": datetime(2026, 11, 1, 1, tzinfo=UTC)}


def _register(client: Client, model: Pipeline, xy: tuple[pd.DataFrame, pd.Series], **changes: Any) -> ModelVersion:
    X, y = xy
    return client.register(model, X, y, name="credit-risk", adverse_class="bad", trainer="alice", code_path=None,
                           actor=OTTO, **{**COMPLETE, **changes})


def _events(client: Client, action: str) -> list[Any]:
    return [e for e in client.audit_events(limit=10_000) if e.action == action]


def test_a_second_person_approves_then_production(client: Client, small_model: Pipeline,
                                                  german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    version = _register(client, small_model, german_xy)
    with pytest.raises(PolicyViolation, match="no second person approved it") as refused:
        client.move_alias("credit-risk", "production", 1, actor=OTTO)
    assert refused.value.reasons == (("approver", "no second person approved it (xai-gov models approve)"),)
    [event] = _events(client, "alias.refused")
    assert event.subject == "credit-risk@production" and event.payload["to_version"] == 1
    assert event.payload["reasons"] == [{"field": "approver",
                                         "reason": "no second person approved it (xai-gov models approve)"}]

    approved = client.approve(version.ref, actor=ADA, note="validation report VR-17")
    assert approved.lineage.approver == ADA.name and "approver" not in approved.lineage.missing
    assert client.lineage("credit-risk@1").lineage.approver == ADA.name
    [approval] = _events(client, "model.approved")
    assert approval.payload == {"approver": ADA.name, "role": "approver", "registered_by": OTTO.name,
                                "note": "validation report VR-17"}
    assert client.move_alias("credit-risk", "production", 1, actor=OTTO).to_version == 1
    report = client.verify_ledger()
    assert report.ok, report.problem  # the approver set later does not read as a changed registration


@pytest.mark.parametrize(("actor", "code"), [
    (OTTO, "self_approval"),                              # the registrant
    (Actor("otto (99999999)", Role.OWNER), "self_approval"),  # the registrant with another key
    (Actor("olga", Role.OFFICER), "permission_denied"),
    (Actor("audra", Role.AUDITOR), "permission_denied"),
    (Actor("root", Role.ADMIN), "permission_denied"),
])
def test_who_may_not_approve_and_every_refusal_is_recorded(client: Client, small_model: Pipeline,
                                                           german_xy: tuple[pd.DataFrame, pd.Series],
                                                           actor: Actor, code: str) -> None:
    version = _register(client, small_model, german_xy)
    with pytest.raises(PermissionDenied) as refused:
        client.approve(version.ref, actor=actor)
    assert refused.value.code == code
    assert client.get_model(version.ref).lineage.approver is None
    [event] = _events(client, "model.approval_refused")
    assert event.actor == actor.name and event.subject == "credit-risk@1" and event.payload["code"] == code


def test_a_version_is_approved_once(client: Client, small_model: Pipeline,
                                    german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    _register(client, small_model, german_xy)
    client.approve("credit-risk@1", actor=ADA)
    with pytest.raises(Conflict, match="already approved by ada"):
        client.approve("credit-risk@1", actor=Actor("bea", Role.OWNER))
    assert [e.payload["code"] for e in _events(client, "model.approval_refused")] == ["already_approved"]


def test_dirty_code_and_missing_lineage_are_refused_whatever_the_approval(
        client: Client, small_model: Pipeline, german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    _register(client, small_model, german_xy, code_dirty=True, seeds={}, metrics={})
    client.approve("credit-risk@1", actor=ADA)
    with pytest.raises(PolicyViolation) as refused:
        client.move_alias("credit-risk", "production", 1, actor=OTTO)
    assert [field for field, _ in refused.value.reasons] == ["seeds", "metrics", "code_dirty"]
    assert "trained from uncommitted code" in refused.value.message
    [event] = _events(client, "alias.refused")
    assert [r["field"] for r in event.payload["reasons"]] == ["seeds", "metrics", "code_dirty"]
    with pytest.raises(PermissionDenied):
        client.move_alias("credit-risk", "production", 1, actor=Actor("olga", Role.OFFICER))
    assert len(_events(client, "alias.refused")) == 2
    assert client.alias_history("credit-risk") == []


def test_same_person() -> None:
    assert same_person("otto (a1b2c3d4)", "Otto (ffffffff)") and same_person("otto", "otto (a1b2c3d4)")
    assert not same_person("otto (a1b2c3d4)", "ottoline (a1b2c3d4)")
