"""Input drift per feature and prediction drift: the window's applicants and scores against the training background.

- **PSI** (population stability index): ``sum((c_i - r_i) * ln(c_i / r_i))`` over
  bins, with ``r_i``/``c_i`` the reference/current shares and an empty bin's share
  set to 1e-4 (the convention Evidently and most credit-risk texts use). Numeric
  bins are cut at the reference's deciles (so each holds about a tenth of the
  training applicants); categorical bins are the schema's categories. PSI is
  biased upward on small samples (about ``(bins - 1) * (1/n_ref + 1/n_cur)`` with
  no drift at all), so it counts toward a verdict only on windows of
  ``psi_min_rows`` decisions or more.
- **Kolmogorov-Smirnov** two-sample test for numeric features and the adverse
  probability (``scipy.stats.ks_2samp``, exact or asymptotic as scipy chooses).
- **Chi-squared** test of homogeneity for categorical features
  (``scipy.stats.chi2_contingency`` on the 2 x k table of counts): both the
  background and the window are samples, so this, not a goodness-of-fit test
  against the background's shares, is the test that fits.
- The decision rate by Fisher's exact test on the 2 x 2 table (defined even
  when a cell is empty).

What these are not: a drift flag says the window's applicants differ from the
training sample, not that the model is wrong for them; with many features a few
flags are expected by chance at p < 0.05 (hence the dataset-level share).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from xai_gov.monitoring.models import Distribution, FeatureDrift, InputDrift, PredictionDrift
from xai_gov.policies.monitoring import InputDriftPolicy, PredictionDriftPolicy
from xai_gov.registry.schema import Feature, FeatureSchema

EMPTY_SHARE = 1e-4


def psi(reference_counts: Sequence[float] | np.ndarray, current_counts: Sequence[float] | np.ndarray) -> float:
    """Population stability index between two histograms over the same bins."""
    ref = np.asarray(reference_counts, dtype=float)
    cur = np.asarray(current_counts, dtype=float)
    if ref.shape != cur.shape or ref.sum() <= 0 or cur.sum() <= 0:
        raise ValueError("PSI needs two non-empty histograms over the same bins")
    r = np.where(ref == 0, EMPTY_SHARE, ref / ref.sum())
    c = np.where(cur == 0, EMPTY_SHARE, cur / cur.sum())
    return float(np.sum((c - r) * np.log(c / r)))


def quantile_edges(reference: np.ndarray, bins: int) -> np.ndarray:
    """Interior cut points at the reference's quantiles (repeated ones merged)."""
    return np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))


def binned(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts per bin: below the first edge, between edges (left-closed), at or above the last."""
    return np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1)


def edge_labels(edges: np.ndarray) -> tuple[str, ...]:
    if len(edges) == 0:
        return ("all",)
    texts = [f"{e:g}" for e in edges]
    return (f"< {texts[0]}", *[f"{a} to < {b}" for a, b in pairwise(texts)], f">= {texts[-1]}")


def feature_drift(feature: Feature, reference: pd.Series, current: pd.Series,
                  policy: InputDriftPolicy) -> FeatureDrift:
    """One feature of the window against the reference: PSI and the test suited to its kind."""
    counted = len(current) >= policy.psi_min_rows
    if feature.kind == "numeric":
        ref = pd.to_numeric(reference).to_numpy(dtype=float)
        cur = pd.to_numeric(current).to_numpy(dtype=float)
        edges = quantile_edges(ref, policy.psi_bins)
        ref_counts, cur_counts = binned(ref, edges), binned(cur, edges)
        result = stats.ks_2samp(ref, cur)
        statistic, p_value = float(result.statistic), float(result.pvalue)
        test_name: Literal["ks", "chi2"] = "ks"
        labels = edge_labels(edges)
        ref_summary, cur_summary = _numeric_summary(ref), _numeric_summary(cur)
    else:
        categories = list(feature.categories)
        ref_counts = reference.astype(str).value_counts().reindex(categories, fill_value=0).to_numpy()
        cur_counts = current.astype(str).value_counts().reindex(categories, fill_value=0).to_numpy()
        statistic, p_value = chi2_homogeneity(ref_counts, cur_counts)
        test_name, labels = "chi2", tuple(categories)
        ref_summary = _categorical_summary(ref_counts, categories)
        cur_summary = _categorical_summary(cur_counts, categories)
    value = psi(ref_counts, cur_counts)
    drifted = p_value < policy.p_value or (counted and value >= policy.psi)
    return FeatureDrift(
        feature=feature.name, label=feature.label, kind=feature.kind, test=test_name, statistic=statistic,
        p_value=p_value, psi=value, psi_counted=counted, reference_n=len(reference), current_n=len(current),
        drifted=bool(drifted), reference_summary=ref_summary, current_summary=cur_summary,
        distribution=Distribution(bins=labels, reference=_shares(ref_counts), current=_shares(cur_counts)))


def chi2_homogeneity(reference_counts: np.ndarray, current_counts: np.ndarray) -> tuple[float, float]:
    """Chi-squared test that two samples share one categorical distribution (categories seen in neither dropped)."""
    table = np.vstack([reference_counts, current_counts]).astype(float)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 0.0, 1.0  # one category in both samples: nothing differs
    result = stats.chi2_contingency(table, correction=False)
    return float(result.statistic), float(result.pvalue)


def input_drift(schema: FeatureSchema, reference: pd.DataFrame, current: pd.DataFrame, policy: InputDriftPolicy,
                *, reference_text: str) -> InputDrift:
    features = tuple(feature_drift(f, reference[f.name], current[f.name], policy) for f in schema.features)
    drifted = sum(f.drifted for f in features)
    share = drifted / len(features) if features else 0.0
    return InputDrift(reference=reference_text, features=features, drifted_features=drifted, drifted_share=share,
                      drifted=share >= policy.dataset_share)


def prediction_drift(reference_probability: np.ndarray, reference_adverse: np.ndarray,
                     current_probability: np.ndarray, current_adverse: np.ndarray, policy: PredictionDriftPolicy,
                     *, decision_rule: str) -> PredictionDrift:
    """The adverse probability's distribution (KS, PSI over ten equal bins of [0, 1]) and the adverse rate."""
    edges = np.linspace(0.1, 0.9, 9)
    ref_counts, cur_counts = binned(reference_probability, edges), binned(current_probability, edges)
    ks = stats.ks_2samp(reference_probability, current_probability)
    ref_adv, cur_adv = int(reference_adverse.sum()), int(current_adverse.sum())
    table = [[ref_adv, len(reference_adverse) - ref_adv], [cur_adv, len(current_adverse) - cur_adv]]
    rate_p = float(stats.fisher_exact(table).pvalue)
    labels = tuple(f"{a:.1f}-{a + 0.1:.1f}" for a in np.linspace(0, 0.9, 10))
    return PredictionDrift(
        decision_rule=decision_rule, reference_n=len(reference_probability), current_n=len(current_probability),
        reference_mean=float(np.mean(reference_probability)), current_mean=float(np.mean(current_probability)),
        ks_statistic=float(ks.statistic), ks_p_value=float(ks.pvalue), psi=psi(ref_counts, cur_counts),
        reference_adverse_rate=ref_adv / len(reference_adverse), current_adverse_rate=cur_adv / len(current_adverse),
        rate_p_value=rate_p, drifted=bool(ks.pvalue < policy.p_value or rate_p < policy.p_value),
        distribution=Distribution(bins=labels, reference=_shares(ref_counts), current=_shares(cur_counts)))


def _shares(counts: np.ndarray) -> tuple[float, ...]:
    total = float(np.sum(counts))
    return tuple(float(c) / total if total else 0.0 for c in counts)


def _numeric_summary(values: np.ndarray) -> str:
    q1, median, q3 = np.quantile(values, [0.25, 0.5, 0.75])
    return f"median {median:g} (quartiles {q1:g} to {q3:g})"


def _categorical_summary(counts: np.ndarray, categories: list[str]) -> str:
    top = int(np.argmax(counts))
    return f"{categories[top]} {counts[top] / max(1, counts.sum()):.0%}"
