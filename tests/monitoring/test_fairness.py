"""Fair-lending metrics: the four-fifths rule on constructed biased and unbiased decisions, fairlearn against
numpy formulas, Wilson and Katz intervals against their closed forms, the proxy check on known proxies."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from xai_gov.monitoring.fairness import (
    band_edges,
    band_labels,
    group_metrics,
    groups_of,
    proxy_check,
    ratio_interval,
    wilson,
)
from xai_gov.monitoring.models import NotComputed
from xai_gov.policies.monitoring import FairLendingPolicy
from xai_gov.registry.schema import Feature, FeatureSchema

POLICY = FairLendingPolicy()
SEX = Feature(name="sex", kind="categorical", label="Sex", categories=("female", "male"))
NO_PROXY = NotComputed(what="proxy check", why="not run in this test")


def _applicants(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    income = np.tile(rng.integers(1000, 9000, n // 2), 2)  # the same incomes in both groups
    return pd.DataFrame({"sex": ["female"] * (n // 2) + ["male"] * (n // 2), "income": income})


def test_four_fifths_passes_for_an_unbiased_model() -> None:
    rows = _applicants()
    approved = (rows["income"] > 4000).to_numpy()  # income only, and incomes are equal across groups
    result = group_metrics(SEX, rows["sex"], approved, ["female", "male"], POLICY, NO_PROXY)
    assert result.four_fifths_passed is True
    assert result.min_adverse_impact_ratio == pytest.approx(1.0)
    assert result.demographic_parity_difference == pytest.approx(0.0)


def test_four_fifths_fails_for_a_biased_model() -> None:
    rows = _applicants()
    # approves women only above a higher income: the same incomes, fewer approvals
    approved = np.where(rows["sex"] == "female", rows["income"] > 7000, rows["income"] > 4000)
    result = group_metrics(SEX, rows["sex"], approved, ["female", "male"], POLICY, NO_PROXY)
    rate = {g.group: g for g in result.groups}
    female, male = approved[:200].mean(), approved[200:].mean()
    assert rate["female"].approval_rate == pytest.approx(female)
    assert rate["male"].four_fifths == "reference"
    assert rate["female"].adverse_impact_ratio == pytest.approx(female / male)
    assert rate["female"].four_fifths == "fail" and result.four_fifths_passed is False
    assert result.demographic_parity_difference == pytest.approx(male - female)


def test_small_groups_are_counted_but_never_compared() -> None:
    groups = pd.Series(["a"] * 50 + ["b"] * 40 + ["c"] * 12)
    approved = np.r_[np.ones(50), np.zeros(40), np.zeros(12)].astype(bool)
    result = group_metrics(Feature(name="g", kind="categorical", label="G", categories=("a", "b", "c")),
                           groups, approved, ["a", "b", "c"], POLICY, NO_PROXY)
    small = {g.group: g for g in result.groups}["c"]
    assert small.n == 12 and small.approval_rate is None and small.four_fifths == "not_computed"
    assert "below the minimum group size 30" in small.note
    assert result.demographic_parity_difference == pytest.approx(1.0)  # over a and b only
    only_small = group_metrics(SEX, pd.Series(["female"] * 10 + ["male"] * 50), np.ones(60, bool),
                               ["female", "male"], POLICY, NO_PROXY)
    assert only_small.four_fifths_passed is None and only_small.min_adverse_impact_ratio is None
    assert any("needs two groups of at least 30" in n.why for n in only_small.not_computed)


def test_a_window_of_one_decision_is_counted_not_refused() -> None:
    # fairlearn squeezes an array of sensitive features: one decision used to be "too many dimensions"
    one = group_metrics(SEX, pd.Series(["female"]), np.ones(1, bool), ["female", "male"], POLICY, NO_PROXY)
    assert [(g.group, g.n, g.approved) for g in one.groups] == [("female", 1, 1)]
    assert one.four_fifths_passed is None
    tiny = group_metrics(SEX, pd.Series(["female", "male"]), np.array([True, False]), ["female", "male"],
                         FairLendingPolicy(min_group_size=1), NO_PROXY)
    assert tiny.min_adverse_impact_ratio == 0.0 and tiny.demographic_parity_difference == pytest.approx(1.0)


def test_intervals_match_closed_forms() -> None:
    k, n, z = 30, 80, 1.959963984540054
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert wilson(k, n, 0.95) == pytest.approx((centre - half, centre + half), abs=1e-9)
    low, high = ratio_interval(30, 80, 50, 90, 0.95)
    log_ratio, se = math.log((30 / 80) / (50 / 90)), math.sqrt(1 / 30 - 1 / 80 + 1 / 50 - 1 / 90)
    assert (low, high) == pytest.approx((math.exp(log_ratio - z * se), math.exp(log_ratio + z * se)), rel=1e-9)
    assert ratio_interval(0, 80, 50, 90, 0.95) == (None, None)


def test_age_bands_from_the_policy_and_quartiles_otherwise() -> None:
    age = Feature(name="age", kind="numeric", label="Age (years)", minimum=18, maximum=80, integer=True)
    policy = FairLendingPolicy(bands={"age": [25, 35, 50, 65]})
    edges = band_edges(age, pd.Series([30, 40]), policy)
    assert band_labels(edges, True) == ("under 25", "25-34", "35-49", "50-64", "65 and over")
    assert list(groups_of(age, pd.Series([19, 25, 34, 35, 64, 65, 80]), edges)) == [
        "under 25", "25-34", "25-34", "35-49", "50-64", "65 and over", "65 and over"]
    quartiles = band_edges(age, pd.Series(np.arange(20, 61)), FairLendingPolicy())
    assert list(quartiles) == [30, 40, 50]


def test_proxy_check_finds_a_copy_and_not_noise() -> None:
    rng = np.random.default_rng(0)
    n = 300
    sex = rng.choice(["female", "male"], n)
    rows = pd.DataFrame({"sex": sex, "title": np.where(sex == "female", "ms", "mr"),
                         "income": rng.normal(5000, 1000, n)})
    schema = FeatureSchema(features=(SEX, Feature(name="title", kind="categorical", label="Title",
                                                   categories=("mr", "ms")),
                                     Feature(name="income", kind="numeric", label="Income")))
    copy = proxy_check(schema, SEX, rows, pd.Series(sex), ["sex"], POLICY)
    assert copy.auc == pytest.approx(1.0) and copy.flagged
    noise = proxy_check(schema, SEX, rows.drop(columns=["title"]).assign(title="mr"), pd.Series(sex), ["sex"],
                        POLICY)
    assert 0.35 < noise.auc < 0.65 and not noise.flagged
    alone = proxy_check(FeatureSchema(features=(SEX,)), SEX, rows[["sex"]], pd.Series(sex), ["sex"], POLICY)
    assert isinstance(alone, NotComputed)


def test_fairlearn_by_group_agrees_with_pandas() -> None:
    rng = np.random.default_rng(5)
    groups = pd.Series(rng.choice(["a", "b", "c"], 500))
    approved = rng.random(500) < np.where(groups == "a", 0.7, np.where(groups == "b", 0.5, 0.6))
    feature = Feature(name="g", kind="categorical", label="G", categories=("a", "b", "c"))
    result = group_metrics(feature, groups, approved, ["a", "b", "c"], POLICY, NO_PROXY)
    by_hand = pd.Series(approved).groupby(groups).agg(["mean", "size", "sum"])
    for g in result.groups:
        assert g.approval_rate == pytest.approx(by_hand.loc[g.group, "mean"], abs=1e-12)
        assert (g.n, g.approved) == (by_hand.loc[g.group, "size"], by_hand.loc[g.group, "sum"])
    rates = by_hand["mean"]
    assert result.demographic_parity_difference == pytest.approx(rates.max() - rates.min(), abs=1e-12)
    assert result.min_adverse_impact_ratio == pytest.approx(rates.min() / rates.max(), abs=1e-12)
    assert result.reference_group == rates.idxmax()
