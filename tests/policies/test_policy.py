from __future__ import annotations

from pathlib import Path

import pytest

from xai_gov.config import Settings
from xai_gov.errors import InvalidInput
from xai_gov.policies.evaluate import evaluate_explanation
from xai_gov.policies.models import load_policy

DEFAULT = Settings().policy_file


def test_the_default_policy_loads_with_its_hash() -> None:
    policy = load_policy(DEFAULT)
    assert policy.document.name == "default" and len(policy.sha256) == 64
    assert {"age", "personal_status_sex", "foreign_worker", "marital_status"} <= policy.protected_features
    assert "code_commit" in policy.document.model.production_requires


@pytest.mark.parametrize(("text", "words"), [
    ("name: p\nversion: 1\nexplanation: {rules: [}\n", "line 3: not valid YAML"),
    ("name: p\nversion: 1\nexplanation:\n  rules:\n    - metric: fidelity.magic\n      min: 1\n      severity: warn\n"
     "      why: x\n", "line 5: explanation.rules.0: unknown metric 'fidelity.magic'"),
    ("name: p\nversion: 1\nexplanation:\n  rules:\n    - metric: agreement.top_n_overlap\n      min: 1\n"
     "      severity: panic\n      why: x\n", "line 7: explanation.rules.0.severity"),
    ("name: p\nversion: 1\nmodel:\n  production_requires: [trainer, shoe_size]\n",
     "line 4: model.production_requires: unknown lineage field 'shoe_size'"),
    ("name: p\nversion: 1\nextra_key: 3\n", "line 3: extra_key: Extra inputs are not permitted"),
])
def test_a_bad_policy_fails_loudly_naming_file_line_and_problem(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(InvalidInput, match=words) as caught:
        load_policy(path)
    assert str(path) in caught.value.message and caught.value.code == "policy_invalid"


def test_verdict_rule_by_rule() -> None:
    policy = load_policy(DEFAULT)
    scores = {"fidelity": {"lime": {"fresh_weighted_r2": 0.1, "local_error": 0.01},
                           "anchor": {"fresh_precision": 0.7, "coverage": 0.1}},
              "stability": {}, "agreement": None}
    verdict = evaluate_explanation(policy, scores, ["age"])
    outcomes = {(r.metric, r.threshold): r.outcome for r in verdict.rules}
    assert outcomes[("fidelity.lime.fresh_weighted_r2", ">= 0.2")] == "warn"
    assert outcomes[("fidelity.lime.local_error", "<= 0.15")] == "pass"
    assert outcomes[("fidelity.anchor.fresh_precision", ">= 0.8")] == "fail"
    assert outcomes[("agreement.top_n_overlap", ">= 0.4")] == "not_measured"
    assert verdict.outcome == "fail" and verdict.withheld_reasons == ("age",)
    assert verdict.to_dict()["policy"]["sha256"] == policy.sha256


def test_a_client_refuses_to_start_on_a_bad_policy(tmp_path: Path) -> None:
    from xai_gov.sdk import Client

    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "reason_codes.yaml").write_text((DEFAULT.parent / "reason_codes.yaml").read_text())
    (policies / "default.yaml").write_text("name: broken\nversion: 0\n")
    with pytest.raises(InvalidInput, match=r"default\.yaml, line 2: version"):
        Client(Settings(home=tmp_path / "home", policies_dir=policies))


def test_the_default_policy_warns_on_a_long_anchor_rule_and_spread_shap() -> None:
    scores = {"fidelity": {}, "stability": {}, "agreement": None,
              "sparsity": {"anchor": {"rule_length": 5}, "shap": {"features_for_80": 3}}}
    verdict = evaluate_explanation(load_policy(DEFAULT), scores, [])
    by_metric = {rule.metric: rule for rule in verdict.rules}
    assert by_metric["sparsity.anchor.rule_length"].outcome == "warn"
    assert "more than four conditions" in by_metric["sparsity.anchor.rule_length"].why
    assert by_metric["sparsity.shap.features_for_80"].outcome == "pass"
    assert by_metric["sparsity.lime.effective_features_80"].outcome == "not_measured"
    assert verdict.outcome == "warn"
