"""Input and prediction drift: known answers, and agreement with independent formulas.

Reference implementations used here (Evidently is not a dependency, see the
closing note of issue 17): PSI against the textbook formula written out with
plain numpy on hand-counted bins; the KS statistic against the largest gap of
the two empirical CDFs computed with numpy; the chi-squared statistic against
sum((O - E)^2 / E) with E from the margins, and its p-value against the
chi-squared survival function; Fisher's exact test against a hypergeometric sum.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from xai_gov.monitoring.drift import (
    EMPTY_SHARE,
    binned,
    chi2_homogeneity,
    feature_drift,
    input_drift,
    prediction_drift,
    psi,
    quantile_edges,
)
from xai_gov.policies.monitoring import InputDriftPolicy, PredictionDriftPolicy
from xai_gov.registry.schema import Feature, FeatureSchema

POLICY = InputDriftPolicy()


def test_psi_known_answer() -> None:
    # shares 0.5/0.5 against 0.25/0.75: (0.25-0.5) ln(0.5) + (0.75-0.5) ln(1.5)
    expected = (0.25 - 0.5) * math.log(0.25 / 0.5) + (0.75 - 0.5) * math.log(0.75 / 0.5)
    assert psi([50, 50], [25, 75]) == pytest.approx(expected, abs=1e-12)
    assert psi([10, 20, 30], [10, 20, 30]) == 0.0
    # an empty bin takes the share 1e-4, as Evidently's psi does
    expected = (EMPTY_SHARE - 0.5) * math.log(EMPTY_SHARE / 0.5) + (1 - 0.5) * math.log(1 / 0.5)
    assert psi([1, 1], [0, 4]) == pytest.approx(expected, abs=1e-12)
    with pytest.raises(ValueError):
        psi([1, 2], [1, 2, 3])


def test_quantile_bins_hold_about_a_tenth_each() -> None:
    values = np.arange(1000, dtype=float)
    counts = binned(values, quantile_edges(values, 10))
    assert counts.sum() == 1000 and len(counts) == 10
    assert set(counts) == {100}


def test_ks_and_chi2_agree_with_numpy_formulas() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(0, 1, 300), rng.normal(0.3, 1, 120)
    feature = Feature(name="x", kind="numeric", label="X")
    result = feature_drift(feature, pd.Series(a), pd.Series(b), POLICY)
    grid = np.sort(np.concatenate([a, b]))
    ecdf_gap = np.max(np.abs(np.searchsorted(np.sort(a), grid, side="right") / len(a)
                             - np.searchsorted(np.sort(b), grid, side="right") / len(b)))
    assert result.statistic == pytest.approx(ecdf_gap, abs=1e-12)
    assert result.test == "ks" and result.reference_n == 300 and result.current_n == 120

    ref, cur = np.array([40, 30, 30]), np.array([10, 20, 30])
    statistic, p_value = chi2_homogeneity(ref, cur)
    table = np.vstack([ref, cur]).astype(float)
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
    by_hand = float(((table - expected) ** 2 / expected).sum())
    assert statistic == pytest.approx(by_hand, rel=1e-12)
    assert p_value == pytest.approx(stats.chi2.sf(by_hand, df=2), rel=1e-12)
    # categories seen in neither sample are dropped; one shared category means no difference
    assert chi2_homogeneity(np.array([5, 0, 5]), np.array([3, 0, 4]))[0] == pytest.approx(
        chi2_homogeneity(np.array([5, 5]), np.array([3, 4]))[0])
    assert chi2_homogeneity(np.array([7, 0]), np.array([3, 0])) == (0.0, 1.0)


def _german_schema(german_xy: tuple[pd.DataFrame, pd.Series]) -> FeatureSchema:
    return FeatureSchema.infer(german_xy[0], german_xy[1], adverse_class="bad")


def test_no_drift_on_a_resample_of_the_background(german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    X = german_xy[0]
    schema = _german_schema(german_xy)
    background = X.sample(200, random_state=0)
    flagged = []
    for seed in range(10):  # ten resamples: the dataset-level verdict must never call drift
        window = background.sample(150, replace=True, random_state=seed)
        result = input_drift(schema, background, window, POLICY, reference_text="background")
        assert not result.drifted, [f.feature for f in result.features if f.drifted]
        flagged.append(result.drifted_features)
    # with 20 features at p < 0.05, about one false flag per run is expected by chance; a bootstrap
    # resample is closer to its source than an independent sample, so fewer
    assert np.mean(flagged) <= 1.5


def test_drift_flagged_on_longer_loans_and_younger_applicants(german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    X = german_xy[0]
    schema = _german_schema(german_xy)
    background = X.sample(200, random_state=0)
    shifted = X.sample(150, random_state=1).copy()
    shifted["duration_months"] = np.minimum(shifted["duration_months"] + 18, 72)
    shifted["age"] = np.maximum(19, shifted["age"] - 12)
    result = input_drift(schema, background, shifted, POLICY, reference_text="background")
    drifted = {f.feature for f in result.features if f.drifted}
    assert {"duration_months", "age"} <= drifted
    by_name = {f.feature: f for f in result.features}
    assert by_name["duration_months"].p_value < 1e-6 and by_name["duration_months"].psi > 0.25
    assert by_name["duration_months"].psi_counted  # 150 rows >= psi_min_rows
    # 2 of 20 features: flagged per feature, not at the dataset level (share 0.5)
    assert result.drifted_share == pytest.approx(len(drifted) / 20) and not result.drifted
    strict = InputDriftPolicy(dataset_share=0.1)
    assert input_drift(schema, background, shifted, strict, reference_text="background").drifted


def test_psi_does_not_count_on_small_windows() -> None:
    feature = Feature(name="x", kind="numeric", label="X")
    rng = np.random.default_rng(0)
    reference = pd.Series(rng.normal(size=200))
    window = pd.Series(rng.normal(size=30))  # same distribution, few rows: PSI is large by chance
    result = feature_drift(feature, reference, window, POLICY)
    assert not result.psi_counted
    assert result.drifted == (result.p_value < POLICY.p_value)


def test_categorical_feature_uses_chi_squared(german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    schema = _german_schema(german_xy)
    X = german_xy[0]
    feature = schema.feature("housing")
    window = pd.Series(["rent"] * 60 + ["own"] * 40)
    result = feature_drift(feature, X["housing"], window, POLICY)
    assert result.test == "chi2" and result.drifted
    assert result.distribution.bins == feature.categories
    assert sum(result.distribution.current) == pytest.approx(1.0)


def test_prediction_drift_and_fisher_agree_with_hypergeometric() -> None:
    rng = np.random.default_rng(3)
    ref_p, cur_p = rng.beta(2, 5, 200), rng.beta(5, 2, 80)
    result = prediction_drift(ref_p, ref_p >= 0.5, cur_p, cur_p >= 0.5, PredictionDriftPolicy(), decision_rule="x")
    assert result.drifted and result.current_adverse_rate > result.reference_adverse_rate
    a, b = int((ref_p >= 0.5).sum()), int((cur_p >= 0.5).sum())
    # two-sided Fisher: sum of hypergeometric probabilities no larger than the observed table's
    total_adverse, n1, n = a + b, 200, 280
    dist = stats.hypergeom(n, total_adverse, n1)
    support = np.arange(max(0, total_adverse - (n - n1)), min(total_adverse, n1) + 1)
    observed = dist.pmf(a)
    by_hand = sum(dist.pmf(k) for k in support if dist.pmf(k) <= observed * (1 + 1e-7))
    assert result.rate_p_value == pytest.approx(by_hand, rel=1e-6)
    same = prediction_drift(ref_p, ref_p >= 0.5, ref_p, ref_p >= 0.5, PredictionDriftPolicy(), decision_rule="x")
    assert not same.drifted and same.psi == 0.0
