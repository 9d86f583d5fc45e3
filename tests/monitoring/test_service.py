"""Monitoring runs end to end: German credit and a synthetic model, stored and ledgered, bad input named."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import text

from tests.monitoring.conftest import CHEAP, Months, as_entered, policy_client
from tests.monitoring.models import REASON_CODES, synthetic_applicants
from xai_gov.actors import Actor, Role
from xai_gov.canonical import sha256_json
from xai_gov.errors import InvalidInput, PermissionDenied
from xai_gov.sdk import Client


def test_a_drifted_month_is_flagged_stored_and_ledgered(months: Months) -> None:
    client = months.client
    report = client.monitor("credit-risk@staging", since=months.boundary)
    assert report.decisions == 12 and report.reference_decisions == 12
    drifted = {f.feature for f in report.input_drift.features if f.drifted}
    assert "duration_months" in drifted
    assert not any(f.psi_counted for f in report.input_drift.features)  # 12 decisions: PSI shown, not counted
    assert report.explanation_drift is not None and report.explanation_drift.method == "lime"
    assert report.explanation_drift.reference_n == report.explanation_drift.current_n == 12
    assert report.trust_drift is not None and report.trust_drift.current_n == 12
    # German credit has protected features by the policy's names, which registration writes on the version
    # (issue 9); 12 decisions are below the minimum group size
    fair = report.fair_lending
    assert {r.feature for r in fair.results} == {"age", "personal_status_sex", "foreign_worker"}
    assert fair.protected_source == "declared with the version"
    for result in fair.results:
        assert result.four_fifths_passed is None and result.min_adverse_impact_ratio is None
        assert all(g.approval_rate is None for g in result.groups)
        assert any("needs two groups of at least 30" in n.why for n in result.not_computed)
    assert {c.outcome for c in report.verdict.checks if c.check.startswith("four-fifths")} == {"not_computed"}

    # stored as returned, listed, and in the ledger with its fields' hashes
    assert client.monitoring_run(report.id) == report
    assert [r.id for r in client.monitoring_runs("credit-risk@staging")] == [report.id]
    events = [e for e in client.audit_events(limit=500) if e.action == "monitoring.run"]
    assert len(events) == 1 and events[0].subject == report.id
    assert events[0].payload["verdict"] == report.verdict.outcome
    assert report.inputs["background_sha256"] == client.get_model(months.ref).background_sha256
    verified = client.verify_ledger()
    assert verified.ok and verified.records["monitoring_runs"] == 1

    # a changed result is caught and named
    record = client.monitoring_run(report.id).to_dict()
    record["decisions"] = 99  # rewritten with a matching stored hash: only the ledger can tell
    with client.database.engine.begin() as connection:
        connection.execute(text("update monitoring_runs set record = :r, record_sha256 = :h where id = :id"),
                           {"r": json.dumps(record), "id": report.id, "h": sha256_json(record)})
    problem = client.verify_ledger().problem
    assert problem is not None and problem.subject == f"monitoring run {report.id}"
    assert problem.fields == ("decisions",)


def test_bad_windows_are_refused_and_nothing_is_stored(months: Months) -> None:
    client = months.client
    before = len(client.audit_events(limit=1000))
    with pytest.raises(InvalidInput) as empty:
        client.monitor(months.ref, since=pd.Timestamp("2020-01-01", tz="UTC").to_pydatetime(),
                       until=pd.Timestamp("2020-02-01", tz="UTC").to_pydatetime())
    assert empty.value.code == "no_decisions" and "no run was stored" in empty.value.message
    with pytest.raises(InvalidInput, match=r"since .* is not before until"):
        client.monitor(months.ref, since=months.boundary, until=months.boundary)
    with pytest.raises(InvalidInput, match="reference window must end"):
        client.monitor(months.ref, since=months.boundary, reference_until=pd.Timestamp.now(tz="UTC").to_pydatetime())
    with pytest.raises(PermissionDenied):
        client.monitor(months.ref, since=months.boundary, actor=Actor("olga", Role.OFFICER))
    assert len(client.audit_events(limit=1000)) == before
    assert client.monitoring_runs(months.ref) == []
    # the whole history, no reference window: explanation and trust drift are named as not computed
    report = client.monitor(months.ref, actor=Actor("otto", Role.OWNER))
    assert report.decisions == 24 and report.explanation_drift is None and report.trust_drift is None
    assert {n.what for n in report.not_computed} >= {"explanation drift", "trust drift"}
    assert all("no reference window" in n.why for n in report.not_computed if n.what.endswith("drift"))


def _register(client: Client, target: str) -> str:
    frame = synthetic_applicants(200)
    y = ["bad" if v < 4000 else "good" for v in frame["income"]]
    return client.register(target, frame, y, name=target.rsplit(":", 1)[1], adverse_class="bad",
                           class_names=["bad", "good"], code_path=None, trainer="t", protected=["sex", "applicant_age"],
                           labels={"applicant_age": "Age (years)", "loan_term": "Loan term (months)"},
                           reason_codes=REASON_CODES).ref


@pytest.mark.parametrize(("target", "passes"), [("tests.monitoring.models:biased", False),
                                                ("tests.monitoring.models:unbiased", True)])
def test_four_fifths_on_a_synthetic_model_with_other_feature_names(tmp_path: Path, target: str,
                                                                   passes: bool) -> None:
    client = policy_client(tmp_path, "min_group_size: 30=>min_group_size: 10")  # the model declares sex, age
    try:
        ref = _register(client, target)
        window = synthetic_applicants(20, seed=3)
        for i in range(len(window)):
            client.explain(ref, as_entered(window.iloc[i]), decision_id=f"D{i}", methods=["lime"], parameters=CHEAP)
        report = client.monitor(ref)
        by_feature = {r.feature: r for r in report.fair_lending.results}
        assert set(by_feature) == {"applicant_age", "sex"}
        assert report.fair_lending.protected_source == "declared with the version"
        sex = by_feature["sex"]
        assert [(g.group, g.n) for g in sex.groups] == [("female", 10), ("male", 10)]
        assert sex.four_fifths_passed is passes
        check = next(c for c in report.verdict.checks if c.check == "four-fifths rule: Sex")
        assert check.outcome == ("pass" if passes else "fail")
        assert report.verdict.outcome == ("fail" if not passes else report.verdict.outcome)
        if not passes:
            assert sex.min_adverse_impact_ratio == 0.0 and sex.demographic_parity_difference == 1.0
        else:
            assert sex.min_adverse_impact_ratio == pytest.approx(1.0)
        # age is banded by quartiles of the training background (no bands for applicant_age in the policy)
        assert len(by_feature["applicant_age"].bands) >= 2
        assert sex.proxy is not None and not sex.proxy.flagged  # nothing else says who is a woman
    finally:
        client.close()


def test_decisions_are_counted_by_the_versions_rule_and_the_banks_overrides(tmp_path: Path) -> None:
    client = policy_client(tmp_path, "min_group_size: 30=>min_group_size: 5")
    try:
        frame = synthetic_applicants(200)
        y = ["bad" if v < 4000 else "good" for v in frame["income"]]
        # P(bad) is 0.7 under an income of 4,000 and 0.3 above: at a cutoff of 0.25 the rule declines everyone
        ref = client.register("tests.monitoring.models:unbiased", frame, y, name="cut", adverse_class="bad",
                              class_names=["bad", "good"], code_path=None, trainer="t", cutoff=0.25,
                              protected=["sex", "applicant_age"], reason_codes=REASON_CODES).ref
        window = synthetic_applicants(12, seed=5)
        for i in range(12):
            client.explain(ref, as_entered(window.iloc[i]), decision_id=f"C{i}", methods=["lime"], parameters=CHEAP,
                           bank_decision="good" if i in (0, 6) else None)  # the bank approved two of them
        client.explain(ref, as_entered(window.iloc[1]), decision_id="C1", methods=["lime"], parameters=CHEAP,
                       re_explain=True)
        report = client.monitor(ref)
        assert report.decisions == 12 and report.duplicates_dropped == 1  # a re-explanation is the same decision
        scores = report.prediction_drift
        assert scores.reference_adverse_rate == 1.0  # the rule at 0.25, not the more probable class
        assert scores.current_adverse_rate == pytest.approx(10 / 12)  # the bank's two approvals stand
        assert "P(bad) >= 0.25" in scores.decision_rule and "2 of them the bank's decision" in scores.decision_rule
        sex = next(r for r in report.fair_lending.results if r.feature == "sex")
        assert sum(g.approved for g in sex.groups) == 2 and sum(g.n for g in sex.groups) == 12
    finally:
        client.close()


def test_a_version_without_protected_features_says_so(tmp_path: Path) -> None:
    client = policy_client(tmp_path, "min_group_size: 30=>min_group_size: 10")
    try:
        frame = synthetic_applicants(200).drop(columns=["sex", "applicant_age"])
        y = ["bad" if v < 4000 else "good" for v in frame["income"]]
        ref = client.register("tests.monitoring.models:unbiased", frame, y, name="plain", adverse_class="bad",
                              class_names=["bad", "good"], code_path=None, trainer="t",
                              reason_codes=REASON_CODES).ref
        for i in range(12):
            client.explain(ref, as_entered(frame.iloc[i]), decision_id=f"P{i}", methods=["lime"], parameters=CHEAP)
        report = client.monitor(ref)
        assert report.fair_lending is None
        missing = next(n for n in report.not_computed if n.what == "fair-lending metrics")
        assert "has no protected features" in missing.why and "no feature is protected" in missing.why
        assert next(c for c in report.verdict.checks if c.check == "four-fifths rule").outcome == "not_computed"
        assert report.input_drift is not None and report.prediction_drift is not None
    finally:
        client.close()


def test_a_bad_monitoring_policy_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"line \d+: monitoring.fair_lending.bands: .*strictly ascending"):
        policy_client(tmp_path, "age: [25, 35, 50, 65]=>age: [35, 25]")
