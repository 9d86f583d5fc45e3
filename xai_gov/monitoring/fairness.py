"""Fair-lending metrics over a window's decisions, by protected group.

For each protected feature (categories as groups; numeric ones cut into bands,
e.g. age bands from the policy, else at the training background's quartiles):

- approval rate per group with a Wilson confidence interval
  (``scipy.stats.binomtest(...).proportion_ci(method="wilson")``), computed with
  fairlearn's ``MetricFrame`` and ``selection_rate``;
- the adverse impact ratio: a group's approval rate over the most approved
  group's, with the Katz log confidence interval for a ratio of proportions;
  the four-fifths rule fails for a group whose ratio is below the policy's 0.8;
- the demographic parity difference (largest minus smallest approval rate,
  fairlearn's ``demographic_parity_difference``);
- a proxy check: how well the other (non-protected) inputs of the training
  background predict the group, as the cross-validated ROC AUC of a
  regularised logistic regression (one-vs-rest, weighted, for more than two
  groups). 0.5 is no information; near 1 the inputs could stand in for it.

A group smaller than the policy's minimum is counted but never compared: its
rate, ratio and interval are ``None`` with a note, and it is left out of the
ratio and the parity difference. These are screening statistics, not a legal
finding: the four-fifths rule is a rule of thumb (29 CFR 1607.4(D)), and a
ratio on small groups is uncertain (read the interval).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise

import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame, count, demographic_parity_difference, selection_rate
from scipy import stats
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from threadpoolctl import threadpool_limits

from xai_gov.monitoring.models import FourFifths, GroupRate, NotComputed, ProtectedResult, ProxyCheck
from xai_gov.policies.monitoring import FairLendingPolicy
from xai_gov.registry.schema import Feature, FeatureSchema

PROXY_CLASSIFIER = "LogisticRegression(C=1.0) on one-hot categories and standardised numbers, stratified 5-fold CV"


def band_edges(feature: Feature, background: pd.Series, policy: FairLendingPolicy) -> np.ndarray:
    if feature.name in policy.bands:
        return np.asarray(policy.bands[feature.name], dtype=float)
    edges = np.unique(np.quantile(pd.to_numeric(background).to_numpy(dtype=float), [0.25, 0.5, 0.75]))
    return np.unique(np.round(edges)) if feature.integer else edges


def band_labels(edges: np.ndarray, integer: bool) -> tuple[str, ...]:
    texts = [f"{e:g}" for e in edges]
    if integer and all(float(e).is_integer() for e in edges):
        middle = [f"{int(a)}-{int(b) - 1}" for a, b in pairwise(edges)]
        return (f"under {texts[0]}", *middle, f"{texts[-1]} and over")
    return (f"< {texts[0]}", *[f"{a} to < {b}" for a, b in pairwise(texts)], f">= {texts[-1]}")


def groups_of(feature: Feature, values: pd.Series, edges: np.ndarray | None) -> pd.Series:
    """Each applicant's group: the category, or the band's label for a numeric feature."""
    if feature.kind == "categorical" or edges is None:
        return values.astype(str).reset_index(drop=True)
    labels = np.asarray(band_labels(edges, feature.integer), dtype=object)
    index = np.searchsorted(edges, pd.to_numeric(values).to_numpy(dtype=float), side="right")
    return pd.Series(labels[index])


def wilson(approved: int, n: int, confidence: float) -> tuple[float, float]:
    interval = stats.binomtest(approved, n).proportion_ci(confidence_level=confidence, method="wilson")
    return float(interval.low), float(interval.high)


def ratio_interval(a: int, n1: int, c: int, n2: int, confidence: float) -> tuple[float | None, float | None]:
    """Katz log interval for (a/n1) / (c/n2); None when a count of approvals is zero."""
    if a == 0 or c == 0:
        return None, None
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    log_ratio = math.log((a / n1) / (c / n2))
    spread = z * math.sqrt(1 / a - 1 / n1 + 1 / c - 1 / n2)
    return math.exp(log_ratio - spread), math.exp(log_ratio + spread)


def _sensitive(groups: pd.Series) -> pd.Series:
    """The groups as fairlearn takes them: a Series, not an array (fairlearn squeezes an array, so a window of
    one decision became a 0-d array it refuses as "too many dimensions")."""
    return pd.Series(groups.to_numpy(dtype=object), name="group")


def group_metrics(feature: Feature, groups: pd.Series, approved: np.ndarray, order: Sequence[str],
                  policy: FairLendingPolicy, proxy: ProxyCheck | NotComputed) -> ProtectedResult:
    """Approval rate per group, adverse impact ratio against the most approved group, parity difference."""
    approved = np.asarray(approved, dtype=int)
    frame = MetricFrame(metrics={"approval_rate": selection_rate, "n": count}, y_true=approved, y_pred=approved,
                        sensitive_features=_sensitive(groups))
    by_group = frame.by_group
    present = [g for g in order if g in by_group.index] + sorted(set(by_group.index) - set(order))
    eligible = [g for g in present if int(by_group.loc[g, "n"]) >= policy.min_group_size]
    notes: list[NotComputed] = []
    if isinstance(proxy, NotComputed):
        notes.append(proxy)
    rates = {g: float(by_group.loc[g, "approval_rate"]) for g in eligible}
    approvals = {g: int(approved[(groups == g).to_numpy()].sum()) for g in present}
    best = max(eligible, key=lambda g: (rates[g], -present.index(g)), default=None)
    if len(eligible) < 2:
        notes.append(NotComputed(what=f"adverse impact ratio of {feature.label}", why=(
            f"needs two groups of at least {policy.min_group_size} decisions; groups here: "
            + ", ".join(f"{g} {int(by_group.loc[g, 'n'])}" for g in present))))
        best = None
    elif rates[best] == 0:
        notes.append(NotComputed(what=f"adverse impact ratio of {feature.label}",
                                 why="no group large enough to compare had any approval"))
        best = None
    rows = []
    for g in present:
        n, k = int(by_group.loc[g, "n"]), approvals[g]
        if g not in eligible:
            rows.append(GroupRate(group=g, n=n, approved=k, approval_rate=None, ci_low=None, ci_high=None,
                                  adverse_impact_ratio=None, air_ci_low=None, air_ci_high=None,
                                  four_fifths="not_computed",
                                  note=f"below the minimum group size {policy.min_group_size}"))
            continue
        low, high = wilson(k, n, policy.confidence)
        air = air_low = air_high = None
        verdict: FourFifths = "not_computed"
        if best is not None:
            n_best = int(by_group.loc[best, "n"])
            k_best = approvals[best]
            air = rates[g] / rates[best]
            if g == best:
                verdict = "reference"
            else:
                air_low, air_high = ratio_interval(k, n, k_best, n_best, policy.confidence)
                verdict = "pass" if air >= policy.four_fifths else "fail"
        rows.append(GroupRate(group=g, n=n, approved=k, approval_rate=rates[g], ci_low=low, ci_high=high,
                              adverse_impact_ratio=air, air_ci_low=air_low, air_ci_high=air_high,
                              four_fifths=verdict))
    ratios = [r.adverse_impact_ratio for r in rows if r.adverse_impact_ratio is not None]
    dpd = None
    if len(eligible) >= 2:
        mask = groups.isin(eligible).to_numpy()
        dpd = float(demographic_parity_difference(approved[mask], approved[mask],
                                                  sensitive_features=_sensitive(groups[mask])))
    return ProtectedResult(
        feature=feature.name, label=feature.label, bands=tuple(present), groups=tuple(rows),
        reference_group=best, min_adverse_impact_ratio=min(ratios) if best is not None else None,
        demographic_parity_difference=dpd,
        four_fifths_passed=None if best is None else all(r.four_fifths != "fail" for r in rows),
        proxy=proxy if isinstance(proxy, ProxyCheck) else None, not_computed=tuple(notes))


def proxy_check(schema: FeatureSchema, feature: Feature, rows: pd.DataFrame, groups: pd.Series,
                protected: Sequence[str], policy: FairLendingPolicy, *, seed: int = 0) -> ProxyCheck | NotComputed:
    """Cross-validated AUC of predicting the protected group from the non-protected inputs."""
    what = f"proxy check of {feature.label}"
    others = [f for f in schema.features if f.name not in set(protected)]
    counts = groups.value_counts()
    keep = groups.isin(counts[counts >= 2].index).to_numpy()
    y = groups.to_numpy()[keep]
    classes = sorted(set(y))
    if not others:
        return NotComputed(what=what, why="every input is protected: nothing else to predict it from")
    if len(classes) < 2:
        return NotComputed(what=what, why="the training background holds fewer than two groups with 2+ rows")
    folds = int(min(5, counts[counts >= 2].min()))
    X = _design(others, rows.reset_index(drop=True))[keep]
    # One BLAS thread: a small problem, where thread start-up costs more than the fit (7x on a busy 2-core box).
    with threadpool_limits(1):
        probabilities = cross_val_predict(LogisticRegression(max_iter=2000), X, y, method="predict_proba",
                                          cv=StratifiedKFold(folds, shuffle=True, random_state=seed))
    if len(classes) == 2:
        auc = float(roc_auc_score(y == classes[1], probabilities[:, 1]))
    else:
        auc = float(roc_auc_score(y, probabilities, multi_class="ovr", average="weighted", labels=classes))
    return ProxyCheck(rows=int(keep.sum()), folds=folds, auc=auc, classifier=PROXY_CLASSIFIER,
                      flagged=auc >= policy.proxy_auc)


def _design(features: Sequence[Feature], rows: pd.DataFrame) -> np.ndarray:
    """One-hot categories (the schema's) and standardised numbers. Built once, before the folds: neither step
    looks at the group, so nothing about the target leaks into the held-out folds."""
    columns = []
    for feature in features:
        if feature.kind == "categorical":
            values = rows[feature.name].astype(str).to_numpy()
            columns += [(values == c).astype(float) for c in feature.categories]
        else:
            values = pd.to_numeric(rows[feature.name]).to_numpy(dtype=float)
            spread = values.std()
            columns.append((values - values.mean()) / spread if spread > 0 else np.zeros_like(values))
    return np.column_stack(columns)
