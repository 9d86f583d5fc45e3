"""Known predictors over the German credit schema, for scores whose right value is known."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from xai_gov.explain.space import ModelSpace
from xai_gov.registry.adapters import ModelAdapter
from xai_gov.registry.schema import FeatureSchema


class FunctionAdapter(ModelAdapter):
    """P(bad) from a function of the native rows; classes (bad, good)."""

    kind = "python"

    def __init__(self, p_bad: Callable[[pd.DataFrame], np.ndarray]) -> None:
        self.p_bad = p_bad

    def predict_proba(self, rows: pd.DataFrame) -> np.ndarray:
        p = np.clip(np.asarray(self.p_bad(rows), dtype=float), 0.0, 1.0)
        return np.column_stack([p, 1.0 - p])

    def spec(self) -> dict[str, Any]:
        return {"kind": self.kind, "target": "tests"}


@pytest.fixture(scope="session")
def german_schema(german_xy: tuple[pd.DataFrame, pd.Series]) -> FeatureSchema:
    X, y = german_xy
    return FeatureSchema.infer(X, y, adverse_class="bad")


@pytest.fixture(scope="session")
def make_space(german_schema: FeatureSchema,
               german_xy: tuple[pd.DataFrame, pd.Series]) -> Callable[[Callable[[pd.DataFrame], np.ndarray]],
                                                                      ModelSpace]:
    background = german_schema.to_matrix(german_xy[0].sample(200, random_state=0).sort_index())

    def build(p_bad: Callable[[pd.DataFrame], np.ndarray]) -> ModelSpace:
        return ModelSpace(german_schema, FunctionAdapter(p_bad), background)

    return build


@pytest.fixture(scope="session")
def renter(german_schema: FeatureSchema, german_xy: tuple[pd.DataFrame, pd.Series]) -> np.ndarray:
    """An applicant who rents, saves below 100 DM and has an overdrawn checking account."""
    X = german_xy[0]
    row = X[(X.housing == "rent") & (X.savings == "below 100 DM") & (X.checking_account == "below 0 DM")].iloc[0]
    return german_schema.to_matrix(row.to_frame().T)[0]
