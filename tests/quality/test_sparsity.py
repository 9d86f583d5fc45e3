"""Sparsity scores where the right value is known, and the quality-at-a-glance table built on them.

The same scores on real explainers over known models are in tests/explain/test_sparsity.py."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest

from xai_gov.explain.methods import glance_figures
from xai_gov.quality.glance import criterion_of, quality_at_a_glance
from xai_gov.quality.sparsity import anchor_sparsity, lime_sparsity, mass_count, shap_sparsity


def _brute_force_mass_count(values: list[float], share: float) -> int:
    """The definition read literally: the size of the smallest subset carrying the share (independent of sorting)."""
    magnitudes = [abs(v) for v in values]
    total = sum(magnitudes)
    if total == 0:
        return 0
    for size in range(1, len(values) + 1):
        if any(sum(magnitudes[i] for i in subset) >= share * total * (1 - 1e-12)
               for subset in combinations(range(len(values)), size)):
            return size
    raise AssertionError("unreachable")


def test_mass_count_known_answers() -> None:
    assert mass_count([0.5, -0.5]) == 2  # 50% each: one carries only half
    assert mass_count([0.9, 0.05, -0.05]) == 1
    assert mass_count([1, 1, 1, 1, 1]) == 4  # exactly 80% on four of five counts as reached
    assert mass_count([0.0, 0.0]) == 0
    assert mass_count([]) == 0
    assert mass_count([3, -1], share=1.0) == 2
    with pytest.raises(ValueError, match="share"):
        mass_count([1.0], share=0.0)


@pytest.mark.parametrize("seed", range(30))
def test_mass_count_agrees_with_the_brute_force_definition(seed: int) -> None:
    rng = np.random.default_rng(seed)
    values = list(rng.standard_cauchy(rng.integers(1, 9)))  # heavy tails: both concentrated and spread vectors
    for share in (0.5, 0.8, 0.95):
        assert mass_count(values, share) == _brute_force_mass_count(values, share)


def test_method_sparsity_from_results() -> None:
    assert lime_sparsity({0: 0.4, 1: -0.3, 2: 0.0, 3: 0.05}).to_dict() == {"features_used": 3,
                                                                             "effective_features_80": 2}
    assert anchor_sparsity(("A = a", "1 < B <= 2")).rule_length == 2
    assert shap_sparsity({0: 0.2, 1: 0.0, 2: -0.2}).features_for_80 == 2


def test_criteria_of_policy_metrics() -> None:
    assert criterion_of("fidelity.anchor.coverage") == "coverage"
    assert criterion_of("fidelity.lime.fresh_weighted_r2") == "fidelity"
    assert criterion_of("sparsity.shap.features_for_80") == "sparsity"
    assert criterion_of("agreement.top_n_overlap") is None


def test_quality_at_a_glance_gives_four_rows_with_the_policys_word() -> None:
    scores = {
        "fidelity": {"anchor": {"fresh_precision": 0.97, "fresh_precision_lower_95": 0.955, "coverage": 0.04,
                                "covers_no_applicant": False}},
        "stability": {"anchor": {"identical_share": 1.0}},
        "sparsity": {"anchor": {"rule_length": 6}},
    }
    verdict = {"rules": [
        {"metric": "sparsity.anchor.rule_length", "outcome": "warn", "why": "Too many conditions."},
        {"metric": "fidelity.anchor.fresh_precision", "outcome": "pass", "why": "-"},
        {"metric": "fidelity.lime.fresh_weighted_r2", "outcome": "not_measured", "why": "-"},
        {"metric": "agreement.top_n_overlap", "outcome": "fail", "why": "not one of the four"},
    ]}
    rows = {row.criterion: row for row in quality_at_a_glance(glance_figures(scores), verdict)}
    assert list(rows) == ["fidelity", "stability", "sparsity", "coverage"]
    assert rows["sparsity"].value == "anchor rule of 6 conditions"
    assert (rows["sparsity"].policy, rows["sparsity"].cautions) == ("warning", ("Too many conditions.",))
    assert rows["fidelity"].policy == "met" and "0.955" in rows["fidelity"].value
    assert rows["stability"].policy == "no rule"
    assert rows["coverage"].value == "the anchor rule describes 4.0% of the reference applicants"


def test_a_record_written_before_sparsity_still_shows_the_table() -> None:
    rows = quality_at_a_glance(glance_figures({"fidelity": {}, "stability": {}, "agreement": None}), None)
    assert [(r.value, r.policy) for r in rows] == [("-", "no rule")] * 4
