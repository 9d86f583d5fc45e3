"""Stability: does the explanation survive a change of random seed? (DESIGN §4)"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np


@dataclass(frozen=True)
class StabilityScores:
    """LIME repeated k times under different seeds.

    - ``top_n_jaccard``: mean over pairs of repeats of |A∩B| / |A∪B| for their top-n features.
    - ``vsi``: Variables Stability Index (Visani et al. 2020, "Statistical stability indices
      for LIME"): mean over pairs of the share of the n selected features they have in common.
    - ``csi``: Coefficients Stability Index (same paper, as its reference implementation
      ``lime-stability`` computes it): each repeat fits LIME's n-feature local model (LIME's own
      feature selection, weighted ridge); each coefficient gets a 95% interval from
      ``coefficient_intervals``; for each feature selected by at least two repeats, the share of
      pairs of those repeats whose intervals overlap; averaged over those features. 0 when no
      feature is selected twice (nothing is stable to compare).
    All in [0, 1]; 1 is perfectly stable. They measure agreement between seeds, not correctness:
    a stable explanation can still be unfaithful (see fidelity).
    """

    repeats: int
    top_n: int
    top_n_jaccard: float
    vsi: float
    csi: float

    def to_dict(self) -> dict[str, Any]:
        return {"repeats": self.repeats, "top_n": self.top_n, "top_n_jaccard": self.top_n_jaccard,
                "vsi": self.vsi, "csi": self.csi}


Interval = tuple[float, float]
Z_95 = 1.96  # lime-stability's two-sided 95% quantile


def top_features(weights: dict[int, float], n: int) -> list[int]:
    """The n features with the largest |weight|; ties broken by feature index, so the order is total."""
    return sorted(weights, key=lambda j: (-abs(weights[j]), j))[:n]


def coefficient_intervals(X: np.ndarray, y: np.ndarray, weights: np.ndarray, coefficients: np.ndarray,
                          alpha: float = 1.0) -> list[Interval]:
    """95% intervals of a weighted ridge fit's coefficients (Visani et al. 2020, eq. for WRR).

    ``X`` holds only the local model's k selected columns. The kernel weights are weights of a
    weighted regression, not frequency weights: the error variance is the sum of weighted squared
    residuals of the weighted least-squares fit (with intercept) over n - k, n the number of samples;
    Var(b) = s^2 (X'WX + aI)^-1 X'WX (X'WX + aI)^-1, as lime-stability computes it."""
    n, k = X.shape
    root = np.sqrt(weights)
    design = np.column_stack([np.ones(n), X])
    solution, *_ = np.linalg.lstsq(design * root[:, None], y * root, rcond=None)
    weighted_residuals = root * (y - design @ solution)
    variance = float(weighted_residuals @ weighted_residuals) / (n - k)
    gram = X.T @ (X * weights[:, None])
    inverse = np.linalg.inv(gram + alpha * np.eye(k))
    deviations = np.sqrt(np.clip(np.diag(variance * inverse @ gram @ inverse.T), 0.0, None))
    return [(float(b - Z_95 * d), float(b + Z_95 * d)) for b, d in zip(coefficients, deviations, strict=True)]


def coefficients_stability(intervals: list[dict[int, Interval]]) -> float:
    """CSI from each repeat's intervals of the features its local model selected (see StabilityScores)."""
    shares = []
    for j in sorted(set().union(*intervals)) if intervals else []:
        having = [found[j] for found in intervals if j in found]
        pairs = list(combinations(having, 2))
        if pairs:  # strict overlap, as lime-stability tests it
            shares.append(sum(a[0] < b[1] and b[0] < a[1] for a, b in pairs) / len(pairs))
    return float(np.mean(shares)) if shares else 0.0


def lime_stability(weights: list[dict[int, float]], intervals: list[dict[int, Interval]], *,
                   top_n: int) -> StabilityScores:
    """Top-n Jaccard and VSI of the repeats' weights; CSI of their n-feature models' intervals."""
    tops = [set(top_features(w, top_n)) for w in weights]
    pairs = list(combinations(range(len(weights)), 2))
    if not pairs:
        return StabilityScores(len(weights), top_n, 1.0, 1.0, 1.0)
    jaccard = sum(len(tops[a] & tops[b]) / len(tops[a] | tops[b]) for a, b in pairs) / len(pairs)
    vsi = sum(len(tops[a] & tops[b]) / top_n for a, b in pairs) / len(pairs)
    return StabilityScores(len(weights), top_n, jaccard, vsi, coefficients_stability(intervals))


@dataclass(frozen=True)
class RuleStability:
    """Anchor repeated under different seeds: share of pairs with the identical rule, and mean
    Jaccard of their predicate sets."""

    repeats: int
    identical_share: float
    predicate_jaccard: float

    def to_dict(self) -> dict[str, Any]:
        return {"repeats": self.repeats, "identical_share": self.identical_share,
                "predicate_jaccard": self.predicate_jaccard}


def rule_stability(rules: list[frozenset[str]]) -> RuleStability:
    pairs = list(combinations(range(len(rules)), 2))
    if not pairs:
        return RuleStability(len(rules), 1.0, 1.0)
    identical = sum(rules[a] == rules[b] for a, b in pairs) / len(pairs)
    jaccard = sum(_jaccard(rules[a], rules[b]) for a, b in pairs) / len(pairs)
    return RuleStability(len(rules), identical, jaccard)


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    union = a | b
    return 1.0 if not union else len(a & b) / len(union)
