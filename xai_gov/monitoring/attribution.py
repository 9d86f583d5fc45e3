"""Explanation drift and trust drift: the window's stored explanations against a reference window's.

- **Explanation drift**: per feature, the mean |attribution| (SHAP contributions
  where both windows have them, else LIME weights; never one method against the
  other) in each window; features ranked by it; the share of the reference's
  top-n features still in the current top-n, and Spearman's rank correlation
  over all features (``scipy.stats.spearmanr``). It says which features drive
  decisions now compared with before; it is not a test of whether the model
  changed (the model is the same version: the applicants moved).
- **Trust drift**: the distributions of LIME fidelity (fresh weighted R²), LIME
  stability (top-n Jaccard) and the anchor's fresh precision in each window,
  compared by the two-sample KS test (``scipy.stats.ks_2samp``); a score drifts
  when they differ and its mean is lower now. The share of explanations whose
  policy verdict was warn or fail, compared by Fisher's exact test (one-sided:
  more now).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

from xai_gov.explain import methods as registry
from xai_gov.explain.records import ExplanationRecord
from xai_gov.monitoring.models import (
    Distribution,
    ExplanationDrift,
    FeatureAttribution,
    NotComputed,
    ScoreDrift,
    TrustDrift,
)
from xai_gov.policies.evaluate import score_at
from xai_gov.policies.monitoring import ExplanationDriftPolicy, TrustDriftPolicy
from xai_gov.registry.schema import FeatureSchema

#: Scores compared by trust drift: (path in an explanation's scores, words). Higher is better for each.
TRUST_SCORES: tuple[tuple[str, str], ...] = (
    ("fidelity.lime.fresh_weighted_r2", "LIME fidelity (fresh weighted R2)"),
    ("stability.lime.top_n_jaccard", "LIME stability (top-n Jaccard)"),
    ("fidelity.anchor.fresh_precision", "Anchor precision (fresh)"),
)


def attributions(record: ExplanationRecord, method: str) -> dict[str, float] | None:
    """Feature -> attribution toward the adverse class from one stored explanation, or None without ``method``."""
    attribution_method = registry.method(method)
    section = record.section(attribution_method.section)
    return None if section is None else attribution_method.attributions_of(section)


def attribution_methods() -> tuple[str, ...]:
    """The attribution methods, the source of reasons first (SHAP, then LIME)."""
    ranked = sorted((m for m in registry.registered() if m.attribution_rank is not None),
                    key=lambda m: m.attribution_rank or 0)
    return tuple(m.name for m in ranked)


def explanation_drift(schema: FeatureSchema, reference: Sequence[ExplanationRecord],
                      current: Sequence[ExplanationRecord],
                      policy: ExplanationDriftPolicy) -> ExplanationDrift | NotComputed:
    """Mean |attribution| per feature, now against the reference window."""
    for method in attribution_methods():
        ref = [a for a in (attributions(r, method) for r in reference) if a is not None]
        cur = [a for a in (attributions(r, method) for r in current) if a is not None]
        if len(ref) >= policy.min_decisions and len(cur) >= policy.min_decisions:
            break
    else:
        return NotComputed(what="explanation drift", why=(
            f"needs at least {policy.min_decisions} explanations with SHAP or with LIME in both the reference "
            f"window and the current one; found {len(reference)} in the reference and {len(current)} now"))
    names = schema.names
    ref_mean = np.array([np.mean([abs(a.get(n, 0.0)) for a in ref]) for n in names])
    cur_mean = np.array([np.mean([abs(a.get(n, 0.0)) for a in cur]) for n in names])
    ref_rank, cur_rank = _ranks(ref_mean, names), _ranks(cur_mean, names)
    top_n = min(policy.top_n, len(names))
    ref_top = {n for n in names if ref_rank[n] <= top_n}
    cur_top = {n for n in names if cur_rank[n] <= top_n}
    overlap = len(ref_top & cur_top) / top_n
    spearman = None
    if len(names) > 2 and np.ptp(ref_mean) > 0 and np.ptp(cur_mean) > 0:
        spearman = float(stats.spearmanr(ref_mean, cur_mean).statistic)
    rows = sorted((FeatureAttribution(feature=n, label=schema.feature(n).label, reference_mean_abs=float(r),
                                      current_mean_abs=float(c), reference_rank=ref_rank[n],
                                      current_rank=cur_rank[n])
                   for n, r, c in zip(names, ref_mean, cur_mean, strict=True)), key=lambda f: f.reference_rank)
    return ExplanationDrift(method=method, reference_n=len(ref), current_n=len(cur), top_n=top_n,
                            features=tuple(rows), top_overlap=overlap, spearman=spearman,
                            drifted=overlap < policy.min_top_overlap)


def trust_drift(reference: Sequence[ExplanationRecord], current: Sequence[ExplanationRecord],
                policy: TrustDriftPolicy) -> TrustDrift | NotComputed:
    if len(reference) < policy.min_decisions or len(current) < policy.min_decisions:
        return NotComputed(what="trust drift", why=(
            f"needs at least {policy.min_decisions} explanations in both the reference window and the current "
            f"one; found {len(reference)} in the reference and {len(current)} now"))
    scores = tuple(_score_drift(path, label, reference, current, policy) for path, label in TRUST_SCORES)
    ref_flag, cur_flag = _flagged(reference), _flagged(current)
    table = [[cur_flag, len(current) - cur_flag], [ref_flag, len(reference) - ref_flag]]
    p_value = float(stats.fisher_exact(table, alternative="greater").pvalue)
    return TrustDrift(scores=scores, reference_n=len(reference), current_n=len(current),
                      reference_flagged=ref_flag, current_flagged=cur_flag,
                      reference_flagged_share=ref_flag / len(reference), current_flagged_share=cur_flag / len(current),
                      flagged_p_value=p_value,
                      drifted=p_value < policy.p_value or any(s.drifted for s in scores))


def _score_drift(path: str, label: str, reference: Sequence[ExplanationRecord], current: Sequence[ExplanationRecord],
                 policy: TrustDriftPolicy) -> ScoreDrift:
    ref = np.array([v for v in (score_at(r.scores, path) for r in reference) if v is not None], dtype=float)
    cur = np.array([v for v in (score_at(r.scores, path) for r in current) if v is not None], dtype=float)
    if len(ref) < policy.min_decisions or len(cur) < policy.min_decisions:
        return ScoreDrift(metric=path, label=label, reference_n=len(ref), current_n=len(cur), reference_mean=None,
                          current_mean=None, reference_median=None, current_median=None, ks_statistic=None,
                          ks_p_value=None, drifted=False, distribution=None)
    ks = stats.ks_2samp(ref, cur)
    edges = np.linspace(0.1, 0.9, 9)
    ref_hist = np.bincount(np.searchsorted(edges, np.clip(ref, 0, 1), side="right"), minlength=10)
    cur_hist = np.bincount(np.searchsorted(edges, np.clip(cur, 0, 1), side="right"), minlength=10)
    worse = float(np.mean(cur)) < float(np.mean(ref))
    return ScoreDrift(metric=path, label=label, reference_n=len(ref), current_n=len(cur),
                      reference_mean=float(np.mean(ref)), current_mean=float(np.mean(cur)),
                      reference_median=float(np.median(ref)), current_median=float(np.median(cur)),
                      ks_statistic=float(ks.statistic), ks_p_value=float(ks.pvalue),
                      drifted=bool(ks.pvalue < policy.p_value and worse),
                      distribution=Distribution(bins=tuple(f"{a:.1f}" for a in np.linspace(0, 0.9, 10)),
                                                reference=tuple(float(c) / len(ref) for c in ref_hist),
                                                current=tuple(float(c) / len(cur) for c in cur_hist)))


def _flagged(records: Sequence[ExplanationRecord]) -> int:
    return sum(1 for r in records if r.verdict and r.verdict.get("outcome") in ("warn", "fail"))


def _ranks(values: np.ndarray, names: list[str]) -> dict[str, int]:
    """1 = largest; ties broken by feature order, so ranks are a permutation."""
    order = sorted(range(len(names)), key=lambda i: (-values[i], i))
    return {names[i]: rank for rank, i in enumerate(order, start=1)}
