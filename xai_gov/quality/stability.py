"""Stability: does the explanation survive a change of random seed? (DESIGN §4)"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Any


@dataclass(frozen=True)
class StabilityScores:
    """LIME repeated k times under different seeds.

    - ``top_n_jaccard``: mean over pairs of repeats of |A∩B| / |A∪B| for their top-n features.
    - ``vsi``: Variables Stability Index (Visani et al. 2020, "Statistical stability indices
      for LIME"): mean over pairs of the share of the n selected features they have in common.
    - ``csi``: Coefficients Stability Index (same paper): for each feature in any top-n, the
      share of pairs of repeats whose 95% confidence intervals of the coefficient overlap,
      averaged over features.
    All in [0, 1]; 1 is perfectly stable.
    """

    repeats: int
    top_n: int
    top_n_jaccard: float
    vsi: float
    csi: float

    def to_dict(self) -> dict[str, Any]:
        return {"repeats": self.repeats, "top_n": self.top_n, "top_n_jaccard": self.top_n_jaccard,
                "vsi": self.vsi, "csi": self.csi}


def top_features(weights: dict[int, float], n: int) -> list[int]:
    """The n features with the largest |weight|; ties broken by feature index, so the order is total."""
    return sorted(weights, key=lambda j: (-abs(weights[j]), j))[:n]


def lime_stability(weights: list[dict[int, float]], errors: list[dict[int, float]], *, top_n: int) -> StabilityScores:
    tops = [set(top_features(w, top_n)) for w in weights]
    pairs = list(combinations(range(len(weights)), 2))
    if not pairs:
        return StabilityScores(len(weights), top_n, 1.0, 1.0, 1.0)
    jaccard = sum(len(tops[a] & tops[b]) / len(tops[a] | tops[b]) for a, b in pairs) / len(pairs)
    vsi = sum(len(tops[a] & tops[b]) / top_n for a, b in pairs) / len(pairs)
    features = sorted(set().union(*tops))
    per_feature = []
    for j in features:
        overlaps = 0
        for a, b in pairs:
            low_a, high_a = _interval(weights[a].get(j, 0.0), errors[a].get(j, 0.0))
            low_b, high_b = _interval(weights[b].get(j, 0.0), errors[b].get(j, 0.0))
            overlaps += low_a <= high_b and low_b <= high_a
        per_feature.append(overlaps / len(pairs))
    return StabilityScores(len(weights), top_n, jaccard, vsi, sum(per_feature) / len(per_feature))


def _interval(coefficient: float, error: float, z: float = 1.959963984540054) -> tuple[float, float]:
    return coefficient - z * error, coefficient + z * error


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
