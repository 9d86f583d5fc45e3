"""Each score where the right value is known by construction."""

from __future__ import annotations

import numpy as np
import pytest

from xai_gov.quality.agreement import lime_shap_agreement
from xai_gov.quality.fidelity import additivity_error, precision_lower_bound, weighted_r2
from xai_gov.quality.stability import coefficient_intervals, lime_stability, rule_stability


def test_weighted_r2_is_one_for_a_perfect_surrogate_and_zero_for_the_mean() -> None:
    y = np.array([0.1, 0.5, 0.9, 0.3])
    w = np.array([1.0, 2.0, 1.0, 0.5])
    assert weighted_r2(y, y, w) == 1.0
    assert weighted_r2(y, np.full(4, np.average(y, weights=w)), w) == pytest.approx(0.0)


def test_clopper_pearson_lower_bound() -> None:
    assert precision_lower_bound(0, 100) == 0.0
    assert precision_lower_bound(100, 100) == pytest.approx(0.05 ** (1 / 100))  # exact when all succeed
    assert precision_lower_bound(930, 1000) == pytest.approx(0.9154, abs=1e-3)


def test_additivity_error() -> None:
    assert additivity_error(0.3, np.array([0.1, 0.2]), 0.6) == pytest.approx(0.0)
    assert additivity_error(0.3, np.array([0.1]), 0.6) == pytest.approx(0.2)


def test_lime_stability_indices() -> None:
    same = [{0: 0.5, 1: -0.4, 2: 0.1}, {0: 0.5, 1: -0.4, 2: 0.1}]
    intervals = [{0: (0.49, 0.51), 1: (-0.41, -0.39)}] * 2
    perfect = lime_stability(same, intervals, top_n=2)
    assert (perfect.top_n_jaccard, perfect.vsi, perfect.csi) == (1.0, 1.0, 1.0)
    swapped = [{0: 0.5, 1: -0.4, 2: 0.1}, {0: 0.5, 1: 0.05, 2: 0.45}]
    # each repeat's 2-feature model: {0, 1} and {0, 2}; only feature 0 is selected twice, and its intervals
    # overlap in 2 of the 3 pairs of the three repeats below
    three = [{0: (0.40, 0.50), 1: (0.0, 0.1)}, {0: (0.45, 0.55), 2: (0.3, 0.4)}, {0: (0.52, 0.60), 1: (0.2, 0.3)}]
    moved = lime_stability([*swapped, swapped[0]], three, top_n=2)
    assert moved.csi == pytest.approx((2 / 3 + 0 / 1) / 2)  # feature 0: 2 of 3 pairs; feature 1: 0 of 1
    assert lime_stability(swapped, [*intervals[:1], {2: (0, 1)}], top_n=2).csi == 0.0  # nothing selected twice
    moved = lime_stability(swapped, intervals, top_n=2)
    assert moved.top_n_jaccard == pytest.approx(1 / 3)  # {0,1} vs {0,2}
    assert moved.vsi == pytest.approx(0.5)


def test_coefficient_intervals_match_the_weighted_ridge_formula() -> None:
    """Known answer: with alpha = 0 and unit weights the intervals are OLS's, b +- 1.96 s sqrt((X'X)^-1)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 2))
    y = 0.3 + X @ np.array([0.5, -0.2]) + rng.normal(scale=0.1, size=400)
    design = np.column_stack([np.ones(400), X])
    beta, *_ = np.linalg.lstsq(design, y, rcond=None)
    residual = y - design @ beta
    s2 = residual @ residual / (400 - 2)
    expected = 1.96 * np.sqrt(s2 * np.diag(np.linalg.inv(X.T @ X)))
    bounds = coefficient_intervals(X, y, np.ones(400), beta[1:], alpha=0.0)
    assert [b - a for a, b in bounds] == pytest.approx(list(2 * expected))
    halved = coefficient_intervals(X, y, np.full(400, 0.5), beta[1:], alpha=0.0)  # weights, not frequencies
    assert [b - a for a, b in halved] == pytest.approx([b - a for a, b in bounds])


def test_rule_stability() -> None:
    a, b = frozenset({"x = 1", "y <= 2"}), frozenset({"x = 1"})
    assert rule_stability([a, a, a]).to_dict() == {"repeats": 3, "identical_share": 1.0, "predicate_jaccard": 1.0}
    mixed = rule_stability([a, a, b])
    assert mixed.identical_share == pytest.approx(1 / 3)
    assert mixed.predicate_jaccard == pytest.approx((1 + 0.5 + 0.5) / 3)


def test_lime_shap_agreement() -> None:
    names = ["a", "b", "c", "d"]
    lime = {0: 0.5, 1: -0.3, 2: 0.2, 3: 0.01}
    shap = {0: 0.4, 1: 0.3, 3: 0.2, 2: 0.0}
    scores = lime_shap_agreement(lime, shap, names, top_n=2)
    assert scores.top_n_overlap == 1.0 and scores.shared_features == ("a", "b")
    assert scores.sign_agreement == 0.5  # a agrees, b points the other way
    assert lime_shap_agreement({0: 1.0}, {1: 1.0}, names, top_n=1).sign_agreement is None
