"""How a missing value (null) of a nullable feature travels through the explainers' matrix.

Explainers sample in a float matrix. A missing value must be a value there that
every explainer treats as its own state, never mixed with real ones:

- a categorical feature: the index one past its categories;
- a numeric feature: a code below its lower bound (the owner's minimum, else the
  lowest value seen in training) by the width of its range (at least 1).
  Everything below the middle of the gap between code and lower bound is
  missing (``is_missing``), so a sample an explainer jitters around the code is
  still missing, on every model path (``FeatureSchema.canonical``).

LIME and Anchor bin a nullable number with one extra cut at ``threshold`` so
"missing" is a bin (an Anchor condition "X is missing"); SHAP replaces the code
by the background's own values, which may be codes too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from xai_gov.registry.schema import Feature, FeatureSchema


def code(feature: Feature) -> float:
    if feature.kind == "categorical":
        return float(len(feature.categories))
    low, high = float(feature.range_low or 0.0), float(feature.range_high or 0.0)
    return low - max(high - low, 1.0)


def threshold(feature: Feature) -> float:
    """Values at or below this (numbers) are missing; the middle of the gap between code and bound."""
    return (code(feature) + float(feature.range_low or 0.0)) / 2.0


def is_missing(feature: Feature, values: np.ndarray) -> np.ndarray:
    if feature.kind == "categorical":
        return np.rint(values) == code(feature)
    return np.asarray(values) <= threshold(feature)


def cuts(schema: FeatureSchema) -> dict[int, float]:
    """Nullable numbers (by index) -> the value at or below which they are missing."""
    return {j: threshold(f) for j, f in enumerate(schema.features) if f.nullable and f.kind == "numeric"}
