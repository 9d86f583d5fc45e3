"""Reason accuracy: does moving a stated reason's feature to a typical favourable value lower the risk?

For each principal reason, the feature alone is moved to its reference value and
the model is asked again; the change in the probability of the adverse class is
stored with the reason. A reason whose move does not lower that probability is
flagged: it is not an accurate reason for this applicant's decision.

The reference value of a feature (DESIGN §8):

- the schema's ``reference`` where the model owner set one;
- otherwise its typical value among the background applicants the version's
  decision rule approves: the median for a number (rounded for a whole-number
  feature), the most common category for a category (ties: the first in the
  schema's order). With no approved background applicant, the whole background.

This is a one-feature, one-step counterfactual. It is not a Shapley value and
does not say how much a feature contributed jointly with others; it says
whether the stated reason points in the right direction at this applicant.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from xai_gov.explain.space import ModelSpace
from xai_gov.registry.decision import DecisionRule

TYPICAL = "typical value among background applicants the rule approves"


@dataclass(frozen=True)
class References:
    """Reference values per feature index, in the schema's matrix space, and where each came from."""

    values: dict[int, float]
    sources: dict[int, str]

    @classmethod
    def build(cls, space: ModelSpace, rule: DecisionRule) -> References:
        schema, background = space.schema, space.background
        adverse = space.predict(background)[:, space.adverse_index] >= rule.cutoff
        approved = background[~adverse] if (~adverse).any() else background
        values: dict[int, float] = {}
        sources: dict[int, str] = {}
        for j, feature in enumerate(schema.features):
            stated = getattr(feature, "reference", None)
            if stated is not None:
                values[j] = float(feature.categories.index(stated)) if feature.kind == "categorical" \
                    else float(stated)
                sources[j] = "schema"
                continue
            column = approved[:, j]
            if feature.kind == "categorical":
                counts = np.bincount(column.astype(int), minlength=len(feature.categories))
                values[j] = float(int(np.argmax(counts)))
            else:
                median = float(np.median(column))
                values[j] = float(np.floor(median + 0.5)) if feature.integer else median
            sources[j] = TYPICAL
        return cls(values, sources)

    def native(self, space: ModelSpace, j: int) -> Any:
        """The reference as a person reads it: the category's name, or the number."""
        feature = space.schema.features[j]
        value = self.values[j]
        if feature.kind == "categorical":
            return feature.categories[int(value)]
        return int(value) if feature.integer else value


def moved(references: References, x: np.ndarray, features: list[int]) -> np.ndarray:
    """One row per feature index: ``x`` with that feature alone moved to its reference."""
    rows = np.repeat(x.reshape(1, -1), len(features), axis=0)
    for i, j in enumerate(features):
        rows[i, j] = references.values[j]
    return rows


def reason_accuracy(space: ModelSpace, references: References, x: np.ndarray, features: list[int],
                    adverse_probability: float) -> list[dict[str, Any]]:
    """For each feature index: its reference, P(adverse) after moving it alone there, the change, and
    whether the move lowers P(adverse). One model call for all of them."""
    if not features:
        return []
    after = space.predict(moved(references, x, features))[:, space.adverse_index]
    out = []
    for i, j in enumerate(features):
        change = float(after[i]) - adverse_probability
        out.append({"reference": references.native(space, j), "reference_source": references.sources[j],
                    "adverse_probability_after": float(after[i]), "change": change, "lowers_adverse": change < 0})
    return out
