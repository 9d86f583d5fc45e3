"""Predict functions for monitoring tests, found by import path; classes (bad, good)."""

from __future__ import annotations

import numpy as np
import pandas as pd

#: A statement per non-protected feature (registration needs one since issue 9).
REASON_CODES = {"features": {
    "income": {"code": "S1", "statement": "Income insufficient for amount of credit"},
    "region": {"code": "S2", "statement": "Region of residence"},
    "loan_term": {"code": "S3", "statement": "Length of the loan"}}}


def biased(rows: pd.DataFrame) -> np.ndarray:
    """Declines every woman and approves every man, whatever else they bring."""
    bad = (rows["sex"] == "female").to_numpy()
    return np.where(bad[:, None], [[0.8, 0.2]], [[0.2, 0.8]])


def unbiased(rows: pd.DataFrame) -> np.ndarray:
    """Declines below an income of 4,000, whoever applies."""
    bad = (rows["income"] < 4000).to_numpy()
    return np.where(bad[:, None], [[0.7, 0.3]], [[0.3, 0.7]])


def synthetic_applicants(n: int, *, seed: int = 0) -> pd.DataFrame:
    """Other feature names than German credit: the same incomes and ages for women and men."""
    rng = np.random.default_rng(seed)
    half = n // 2
    income = rng.integers(1000, 9000, half)
    age = rng.integers(21, 70, half)
    region = rng.choice(["north", "south", "east"], half)
    term = rng.integers(6, 60, half)
    return pd.DataFrame({"income": np.tile(income, 2), "applicant_age": np.tile(age, 2),
                         "region": np.tile(region, 2), "loan_term": np.tile(term, 2),
                         "sex": ["female"] * half + ["male"] * half})
