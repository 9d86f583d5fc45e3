"""A second, small credit-like example with other feature names, for batch tests; and its model as a
Python function (registered by import path, so worker processes import it too)."""

from __future__ import annotations

import numpy as np
import pandas as pd

HOME = ("own", "rent", "other")


def loans(n: int = 400, seed: int = 7) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "monthly_income": rng.integers(800, 9000, n),
        "loan_term": rng.choice([12, 24, 36, 48, 60], n),
        "home_status": rng.choice(HOME, n),
        "open_accounts": rng.integers(0, 12, n),
    })
    risk = -1.0 - frame.monthly_income / 3000 + frame.loan_term / 30 + (frame.home_status == "rent") * 0.8
    y = pd.Series(np.where(rng.random(n) < 1 / (1 + np.exp(-risk)), "decline", "approve"), name="outcome")
    return frame, y


def p_decline(rows: pd.DataFrame) -> np.ndarray:
    """The known model behind the labels: P(approve), P(decline) in the classes' sorted order."""
    risk = (-1.0 - rows["monthly_income"].astype(float) / 3000 + rows["loan_term"].astype(float) / 30
            + (rows["home_status"] == "rent") * 0.8)
    decline = 1 / (1 + np.exp(-risk.to_numpy(float)))
    return np.column_stack([1 - decline, decline])


def p_decline_or_die(rows: pd.DataFrame) -> np.ndarray:
    """The same model, except that its process dies when asked about a 61-month loan (none in training)."""
    if (rows["loan_term"].astype(float) == 61).any():
        import os

        os._exit(3)  # no exception, no cleanup: as a kill or the out-of-memory killer would end it
    return p_decline(rows)
