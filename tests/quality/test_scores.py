"""Each score where the right value is known by construction."""

from __future__ import annotations

import numpy as np
import pytest

from xai_gov.quality.agreement import lime_shap_agreement
from xai_gov.quality.fidelity import additivity_error, precision_lower_bound, weighted_r2
from xai_gov.quality.stability import lime_stability, rule_stability


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
    errors = [{0: 0.01, 1: 0.01, 2: 0.01}] * 2
    perfect = lime_stability(same, errors, top_n=2)
    assert (perfect.top_n_jaccard, perfect.vsi, perfect.csi) == (1.0, 1.0, 1.0)
    swapped = [{0: 0.5, 1: -0.4, 2: 0.1}, {0: 0.5, 1: 0.05, 2: 0.45}]
    moved = lime_stability(swapped, errors, top_n=2)
    assert moved.top_n_jaccard == pytest.approx(1 / 3)  # {0,1} vs {0,2}
    assert moved.vsi == pytest.approx(0.5)
    assert moved.csi == pytest.approx(1 / 3)  # of features 0, 1, 2 only 0's intervals overlap


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
