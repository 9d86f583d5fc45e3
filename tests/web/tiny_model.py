"""A second, small credit-like model for the page tests: other feature names, a Python function."""

from __future__ import annotations

import numpy as np
import pandas as pd

REGIONS = ("north", "south", "east")


def training_data(rows: int = 300, seed: int = 3) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"income_eur": np.round(rng.uniform(800, 9000, rows), 2),
                      "region": rng.choice(REGIONS, rows),
                      "years_at_address": rng.integers(0, 30, rows)})
    declined = predict(X)[:, 1] > 0.5
    return X, pd.Series(np.where(declined, "declined", "granted"), name="outcome")


def predict(X: pd.DataFrame) -> np.ndarray:
    """P(declined), P(granted): columns in the sorted class order the schema infers."""
    score = 2.5 - X["income_eur"].astype(float) / 2000 - X["years_at_address"].astype(float) / 10 \
        + (X["region"] == "east").astype(float)
    declined = 1 / (1 + np.exp(-score.to_numpy()))
    return np.column_stack([declined, 1 - declined])
