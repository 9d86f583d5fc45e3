"""Predict functions for the python adapter's tests, found by import path."""

from __future__ import annotations

import numpy as np
import pandas as pd


def amount_rule(rows: pd.DataFrame) -> np.ndarray:
    """P(bad) 0.8 above 5000 DM, else 0.2; classes (bad, good)."""
    bad = (rows["credit_amount"] > 5000).to_numpy()
    return np.where(bad[:, None], [[0.8, 0.2]], [[0.2, 0.8]])


def one_column(rows: pd.DataFrame) -> np.ndarray:
    return np.full((len(rows), 1), 1.0)


def not_normalised(rows: pd.DataFrame) -> np.ndarray:
    return np.full((len(rows), 2), 0.7)


def crashes(rows: pd.DataFrame) -> np.ndarray:
    raise RuntimeError("feature store unavailable")


NOT_CALLABLE = 3
