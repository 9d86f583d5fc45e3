"""Explanations stored and replayed through the SDK, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from sklearn.pipeline import Pipeline
from sqlalchemy import func, select

from xai_gov.errors import InvalidInput, ModelCheckFailed, NotFound
from xai_gov.sdk import Client
from xai_gov.store.orm import ExplanationRow

QUICK = {"lime": {"num_samples": 500, "repeats": 3}, "anchor": {"repeats": 2, "fresh_samples": 300}}


@pytest.fixture
def registered(client: Client, small_model: Pipeline, german_xy: tuple[pd.DataFrame, pd.Series]) -> Client:
    X, y = german_xy
    client.register(small_model, X, y, name="credit-risk", adverse_class="bad", trainer="alice", code_path=None,
                    alias="staging")
    return client


@pytest.fixture
def applicant(german_xy: tuple[pd.DataFrame, pd.Series]) -> dict[str, Any]:
    row = german_xy[0].iloc[1]
    return {k: v.item() if hasattr(v, "item") else v for k, v in row.items()}


def stored(client: Client) -> int:
    with client.database.session() as session:
        return session.scalar(select(func.count()).select_from(ExplanationRow)) or 0


def test_explain_stores_a_complete_record_that_replays_exactly(registered: Client, applicant: dict[str, Any]) -> None:
    record = registered.explain("credit-risk@staging", applicant, decision_id="LOAN-1", requested_by="otto",
                                parameters=QUICK)
    assert record.model_ref == "credit-risk@1" and record.decision_id == "LOAN-1" and record.requested_by == "otto"
    assert record.instance == applicant and len(record.instance_sha256) == 64
    assert set(record.prediction.probabilities) == {"bad", "good"}
    assert record.section("lime") and record.section("anchor") and record.section("shap")["algorithm"] == "kernel"
    assert {"lime", "anchor", "shap"} <= set(record.scores["fidelity"])
    assert record.scores["agreement"]["top_n"] == 5
    assert 0 < len(record.reasons) <= 4 and all(r["contribution"] > 0 for r in record.reasons)
    assert record.library_versions["lime"] and record.parameters["lime"]["num_samples"] == 500
    assert set(record.timings) == {"predict", "lime", "anchor", "shap", "counterfactual"}  # a declined applicant
    assert record.section("counterfactuals") and record.section("counterfactuals")["options"]
    assert registered.get_explanation(record.id).to_dict() == record.to_dict()

    report = registered.replay(record.id)
    assert report.matches and report.same_library_versions
    assert {f.field for f in report.fields} >= {"lime", "anchor", "shap", "scores", "reasons", "prediction",
                                                "counterfactuals"}
    assert [v.ref for v in registered.lineage_by_decision("LOAN-1")] == ["credit-risk@1"]
    assert [r.id for r in registered.find_explanations(decision_id="LOAN-1")] == [record.id]
    assert registered.find_explanations(model="other") == []


@pytest.mark.parametrize(("change", "error", "words"), [
    ({"drop": "age"}, InvalidInput, "'age' .* is missing"),
    ({"set": ("housing", "castle")}, InvalidInput, "unknown category 'castle'"),
    ({"set": ("age", float("nan"))}, InvalidInput, "not a finite number"),
    ({"set": ("shoe_size", 42)}, InvalidInput, "unknown feature 'shoe_size'"),
    ({"model": "credit-risk@9"}, NotFound, "has no version 9"),
    ({"methods": ["lime", "magic"]}, InvalidInput, "unknown method magic"),
    ({"decision_id": ""}, InvalidInput, "decision id"),
])
def test_bad_requests_store_nothing(registered: Client, applicant: dict[str, Any], change: dict[str, Any],
                                    error: type[Exception], words: str) -> None:
    instance = dict(applicant)
    if "drop" in change:
        del instance[change["drop"]]
    if "set" in change:
        instance[change["set"][0]] = change["set"][1]
    with pytest.raises(error, match=words):
        registered.explain(change.get("model", "credit-risk@1"), instance,
                           decision_id=change.get("decision_id", "LOAN-2"), methods=change.get("methods"),
                           parameters=QUICK)
    assert stored(registered) == 0


def test_a_model_failing_mid_explanation_stores_nothing(client: Client, german_xy: tuple[pd.DataFrame, pd.Series],
                                                        applicant: dict[str, Any],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    X, y = german_xy
    monkeypatch.setenv("XAI_GOV_TEST_FLAKY", "1")
    with pytest.raises(ModelCheckFailed, match=r"registration explains one background row with the default methods "
                                               r"before storing anything, and that failed: .*out of memory"):
        client.register("tests.explain.flaky_model:fails_on_big_batches", X, y, name="flaky", adverse_class="bad",
                        class_names=["bad", "good"], code_path=None)
    assert client.list_models() == []  # refused: nothing written
    monkeypatch.setenv("XAI_GOV_TEST_FLAKY", "0")
    client.register("tests.explain.flaky_model:fails_on_big_batches", X, y, name="flaky", adverse_class="bad",
                    class_names=["bad", "good"], code_path=None)
    monkeypatch.setenv("XAI_GOV_TEST_FLAKY", "1")
    with pytest.raises(ModelCheckFailed, match="failed while explaining flaky@1: RuntimeError: out of memory"):
        client.explain("flaky@1", applicant, decision_id="LOAN-3", methods=["lime"], parameters=QUICK)
    assert stored(client) == 0
    with pytest.raises(NotFound, match="no explanation of decision 'LOAN-3'"):
        client.lineage_by_decision("LOAN-3")


def test_unknown_explanation_id_is_named(registered: Client) -> None:
    with pytest.raises(NotFound, match="no explanation 'nope'") as caught:
        registered.get_explanation("nope")
    assert caught.value.code == "explanation_not_found"


def test_a_replay_matches_where_the_same_policy_and_reason_codes_lie_in_another_folder(
        registered: Client, applicant: dict[str, Any], tmp_path: Any) -> None:
    """A service moved to another folder (an upgrade, another machine) loads the same policy and reason-code files
    from elsewhere: its replays of records stored before still match. The record keeps where its files were;
    the replay compares what they said (the policy's name, version and hash, and the reasons themselves)."""
    import shutil

    from xai_gov.config import Settings

    record = registered.explain("credit-risk@staging", applicant, decision_id="LOAN-MOVED", parameters=QUICK)
    moved = tmp_path / "elsewhere" / "policies"
    shutil.copytree(registered.settings.resolved_policies_dir, moved)
    elsewhere = Client(Settings(home=registered.settings.home, database_url=registered.settings.database_url,
                                policies_dir=moved))
    try:
        assert elsewhere.policy.path != registered.policy.path
        report = elsewhere.replay(record.id)
        assert report.matches, [(f.field, f.stored, f.replayed) for f in report.fields if not f.matches]
    finally:
        elsewhere.close()
    changed = tmp_path / "changed" / "policies"  # a policy that says something else still shows as a difference
    shutil.copytree(registered.settings.resolved_policies_dir, changed)
    policy = changed / f"{registered.settings.policy}.yaml"
    policy.write_text(policy.read_text() + "\n# changed\n")
    other = Client(Settings(home=registered.settings.home, database_url=registered.settings.database_url,
                            policies_dir=changed))
    try:
        assert [f.field for f in other.replay(record.id).fields if not f.matches] == ["verdict"]
    finally:
        other.close()
    # a version stored before maps were per version is explained with the service's map, named by its path
    from dataclasses import replace
    here, there = (replace(record, reason_map=path) for path in ("/srv/a/policies/reason_codes.yaml",
                                                                 "C:\\xai\\policies\\reason_codes.yaml"))
    assert here.result_fields() == there.result_fields()
    assert here.result_fields() != replace(record, reason_map="/srv/a/policies/other.yaml").result_fields()
    named = (replace(record, reason_map=source).result_fields() for source in ("Retail 2024/06", "Retail 2025/06"))
    assert next(named) != next(named)  # a source named in words is compared whole
