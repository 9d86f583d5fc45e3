"""Sparsity: how much a person must read to get an explanation's message (DESIGN §4).

Sparsity is the third of the four criteria a model-risk reviewer applies to
local explanations (fidelity, stability, sparsity, coverage); it is a property of
the explanation's *form*, not of its truth: a sparse explanation can still be
unfaithful, so read it beside fidelity. Smaller is easier to use.

- ``mass_count(values, share)``: the smallest number of entries whose absolute
  values together carry at least ``share`` of the total absolute value. It is the
  count form of the "k features needed to reach p% of the attribution" summary
  used for attribution complexity (cf. Bhatt, Weller & Moura 2020, "Evaluating
  and aggregating feature-based model explanations", who use the entropy of the
  same fractional contributions; Nguyen & Martínez 2020, "On quantitative
  aspects of model interpretability", who count the features an explanation
  uses). It is not the entropy measure: two features at 50/50 and at 79/21 both
  give 2 at 80%.
- LIME: ``features_used`` counts the surrogate's non-zero weights (this engine
  fits every feature, so it is the feature count unless a feature never varies
  in the neighbourhood); ``effective_features_80`` is ``mass_count`` of the
  weights at 80%.
- Anchor: ``rule_length`` is the number of conditions in the rule as stated (a
  feature bounded on both sides, "1295 < amount <= 2144", is one condition).
- SHAP: ``features_for_80`` is ``mass_count`` of the attributions at 80%.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

#: The share of absolute weight or attribution the "effective" counts must carry.
MASS_SHARE = 0.8


def mass_count(values: Iterable[float], share: float = MASS_SHARE) -> int:
    """Smallest k such that the k largest |values| sum to at least ``share`` of sum |values|; 0 if all are 0."""
    if not 0.0 < share <= 1.0:
        raise ValueError(f"share must be in (0, 1], got {share}")
    magnitudes = np.sort(np.abs(np.asarray(list(values), dtype=float)))[::-1]
    total = float(magnitudes.sum())
    if total == 0.0:
        return 0
    cumulative = np.cumsum(magnitudes)
    # a relative tolerance so that, e.g., exactly 80% on four of five equal entries counts as reached
    reached = cumulative >= share * total * (1.0 - 1e-12)
    return int(np.argmax(reached)) + 1


@dataclass(frozen=True)
class LimeSparsity:
    features_used: int
    effective_features_80: int

    def to_dict(self) -> dict[str, Any]:
        return {"features_used": self.features_used, "effective_features_80": self.effective_features_80}


@dataclass(frozen=True)
class AnchorSparsity:
    rule_length: int

    def to_dict(self) -> dict[str, Any]:
        return {"rule_length": self.rule_length}


@dataclass(frozen=True)
class ShapSparsity:
    features_for_80: int

    def to_dict(self) -> dict[str, Any]:
        return {"features_for_80": self.features_for_80}


def lime_sparsity(weights: dict[int, float]) -> LimeSparsity:
    return LimeSparsity(features_used=sum(1 for w in weights.values() if w != 0.0),
                        effective_features_80=mass_count(weights.values()))


def anchor_sparsity(conditions: Iterable[str]) -> AnchorSparsity:
    return AnchorSparsity(rule_length=len(list(conditions)))


def shap_sparsity(values: dict[int, float]) -> ShapSparsity:
    return ShapSparsity(features_for_80=mass_count(values.values()))
