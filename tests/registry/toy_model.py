"""A tiny credit-like model as a Python function, over feature names unlike German credit's."""

from __future__ import annotations

import numpy as np
import pandas as pd


def predict(rows: pd.DataFrame) -> np.ndarray:
    """P(deny) rises with Debt and with a missing Income; classes (approve, deny)."""
    income = pd.to_numeric(rows["Income"], errors="coerce")
    score = 0.2 + 0.5 * rows["Debt"].to_numpy(dtype=float) + 0.2 * income.isna().to_numpy()
    deny = np.clip(score, 0.01, 0.99)
    return np.column_stack([1 - deny, deny])


def frame(rows: int = 60, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    income = rng.normal(3000, 500, rows).round(0)
    income[::7] = np.nan
    return pd.DataFrame({"Income": income, "Debt": rng.random(rows).round(3),
                         "Age": rng.integers(20, 70, rows), "Marital": rng.choice(["single", "married"], rows)})
