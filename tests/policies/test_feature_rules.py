"""Policy rules other than thresholds: no protected feature in what a method's result rests on."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from xai_gov.config import Settings
from xai_gov.errors import InvalidInput
from xai_gov.policies.evaluate import evaluate_explanation
from xai_gov.policies.models import load_policy
from xai_gov.sdk import Client

POLICY = """
name: fair-lending
version: 1
explanation:
  protected_features: [age, personal_status_sex, foreign_worker]
  rules:
    - metric: fidelity.anchor.fresh_precision
      min: 0.5
      severity: warn
      why: The anchor rule is weak.
    - kind: no_protected_feature
      method: anchor
      severity: fail
      why: An anchor rule that conditions on a protected attribute would state it as why the decision was made.
    - kind: no_protected_feature
      method: counterfactual
      severity: warn
      why: Recourse must never ask an applicant to change a protected attribute.
"""


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    path = tmp_path / "fair-lending.yaml"
    path.write_text(POLICY)
    return path


def test_a_rule_on_the_features_an_anchor_rests_on(policy_file: Path) -> None:
    policy = load_policy(policy_file)
    scores = {"fidelity": {"anchor": {"fresh_precision": 0.9}}}
    on_age = evaluate_explanation(policy, scores, [], sections={"anchor": {"features": ["duration_months", "age"]}},
                                  protected={"age", "foreign_worker"})
    rule = next(r for r in on_age.rules if r.metric == "no_protected_feature.anchor")
    assert (rule.outcome, rule.value, on_age.outcome) == ("fail", 1.0, "fail") and "it rests on: age" in rule.why
    clean = evaluate_explanation(policy, scores, [], sections={"anchor": {"features": ["duration_months"]},
                                                               "counterfactuals": {"options": []}},
                                 protected={"age"})
    assert clean.outcome == "pass" and {r.outcome for r in clean.rules} == {"pass"}
    unmeasured = evaluate_explanation(policy, scores, [], sections={}, protected={"age"})
    assert [r.outcome for r in unmeasured.rules if r.metric.startswith("no_protected")] == ["not_measured"] * 2


def test_a_feature_rule_naming_a_method_without_features_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(POLICY.replace("method: anchor", "method: shap"))
    with pytest.raises(InvalidInput, match="one of anchor, counterfactual, not 'shap'"):
        load_policy(path)


def test_the_rule_is_judged_on_every_explanation(tmp_path: Path, small_model, german_xy) -> None:
    policies = tmp_path / "policies"
    shutil.copytree(Settings().resolved_policies_dir, policies)
    (policies / "fair-lending.yaml").write_text(POLICY)
    client = Client(Settings(policies_dir=policies, policy="fair-lending"), home=tmp_path / "home",
                    database_url=f"sqlite:///{tmp_path / 'store.db'}")
    try:
        X, y = german_xy
        version = client.register(small_model, X, y, name="fair", adverse_class="bad", code_path=None)
        applicant = {k: v.item() if hasattr(v, "item") else v for k, v in X.iloc[1].items()}
        record = client.explain(version.ref, applicant, decision_id="F-1", methods=["anchor", "shap"],
                                parameters={"anchor": {"repeats": 1, "fresh_samples": 200}})
        rule = next(r for r in record.verdict["rules"] if r["metric"] == "no_protected_feature.anchor")
        protected = set(record.scores["protected"]["features"])
        rests_on = set(record.section("anchor")["features"])
        assert rule["outcome"] == ("fail" if rests_on & protected else "pass")
        assert client.replay(record.id).matches
    finally:
        client.close()
