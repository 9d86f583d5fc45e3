"""Fidelity: does the explanation describe the model where it claims to? (DESIGN §4)"""

from __future__ import annotations

import numpy as np
from scipy import stats


def weighted_r2(target: np.ndarray, surrogate: np.ndarray, weights: np.ndarray) -> float:
    """Weighted R^2 of a surrogate against the model: 1 - sum w(y-g)^2 / sum w(y-ybar_w)^2.

    For LIME this is computed on a *fresh* neighbourhood (a seed LIME did not fit
    on) with LIME's own kernel weights, so it measures how well the linear
    surrogate generalises locally rather than how well it fits its own samples
    (LIME's ``score``). Ribeiro et al. 2016, §3.4; Visani et al. 2020.
    """
    weights = np.asarray(weights, dtype=float)
    mean = np.average(target, weights=weights)
    total = float(np.sum(weights * (target - mean) ** 2))
    residual = float(np.sum(weights * (target - surrogate) ** 2))
    if total == 0.0:
        return 1.0 if residual == 0.0 else 0.0
    return 1.0 - residual / total


def precision_lower_bound(positives: int, samples: int, confidence: float = 0.95) -> float:
    """One-sided Clopper-Pearson lower bound of a binomial proportion (exact, conservative).

    Used for an anchor's precision re-estimated on fresh samples satisfying its rule
    (Ribeiro et al. 2018 report the search's own estimate; we re-sample).
    """
    if samples == 0:
        return 0.0
    if positives == 0:
        return 0.0
    return float(stats.beta.ppf(1.0 - confidence, positives, samples - positives + 1))


def additivity_error(base_value: float, contributions: np.ndarray, model_output: float) -> float:
    """|base + sum(phi) - f(x)|: SHAP's local accuracy property (Lundberg & Lee 2017)."""
    return float(abs(base_value + float(np.sum(contributions)) - model_output))
