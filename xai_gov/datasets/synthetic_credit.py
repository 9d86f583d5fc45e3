"""A synthetic credit-like data set with a known ground truth: the second shipped example.

German credit keeps everything honest for one naming, one model family and no
missing values. This data set differs on purpose: other feature names
(``Income``, ``Age``, ``Marital``...), missing values (an applicant who declared no
income, an unknown housing status), string categories, integer classes 0/1, and
protected attributes that the ground truth does not use.

It is generated, not collected: ``generate(rows, seed)`` draws it from a seeded
generator, so it needs no licence and can be rebuilt bit for bit. The probability
of default is ``true_probability(frame)``, a logistic function of the
``GROUND_TRUTH`` effects below; ``Age``, ``Marital`` and ``Channel`` have no effect,
so a reason naming them would be wrong twice.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TARGET = "Default"
SEED = 7
ROWS = 1500
NUMERIC = ("Income", "Age", "EmploymentYears", "LatePayments", "DebtRatio", "LoanAmount")
CATEGORICAL = ("Marital", "Housing", "Channel")
LABELS = {
    "Income": "Monthly income", "Age": "Age (years)", "Marital": "Marital status",
    "EmploymentYears": "Years with current employer", "Housing": "Housing status",
    "LatePayments": "Late payments in the last 2 years", "DebtRatio": "Debt to income ratio",
    "LoanAmount": "Amount requested", "Channel": "Application channel",
}
#: Effects on the log-odds of default (class 1). Everything not named has none.
GROUND_TRUTH = {
    "intercept": -1.6, "LatePayments": 0.55, "DebtRatio": 2.0, "LoanAmount_per_1000": 0.05,
    "EmploymentYears": -0.06, "Income_missing": 1.0, "log_Income_over_3000": -0.5,
    "Housing=rent": 0.4, "Housing=own": -0.3,
}


def generate(rows: int = ROWS, seed: int = SEED) -> pd.DataFrame:
    """The features and the ``Default`` label (1 = defaulted), from a seeded generator."""
    rng = np.random.default_rng(seed)
    age = rng.integers(19, 76, rows)
    income = np.round(rng.lognormal(np.log(3000), 0.45, rows), 2)
    income_missing = rng.random(rows) < 0.12
    housing = rng.choice(["rent", "own", "mortgage", "with parents"], rows, p=[0.35, 0.25, 0.3, 0.1]).astype(object)
    housing[rng.random(rows) < 0.06] = np.nan
    frame = pd.DataFrame({
        "Income": np.where(income_missing, np.nan, income),
        "Age": age,
        "Marital": rng.choice(["single", "married", "divorced", "widowed"], rows, p=[0.4, 0.4, 0.15, 0.05]),
        "EmploymentYears": np.minimum(rng.poisson(6, rows), np.maximum(age - 18, 0)),
        "Housing": housing,
        "LatePayments": np.minimum(rng.poisson(0.8, rows), 8),
        "DebtRatio": np.round(np.clip(rng.gamma(2.0, 0.18, rows), 0, 1.5), 3),
        "LoanAmount": (np.round(rng.lognormal(np.log(7000), 0.6, rows) / 100) * 100).astype(int),
        "Channel": rng.choice(["branch", "online", "broker"], rows),
    })
    frame[TARGET] = (rng.random(rows) < true_probability(frame)).astype(int)
    return frame


def true_probability(frame: pd.DataFrame) -> np.ndarray:
    """P(default) under the ground truth, for rows with the generator's columns."""
    g = GROUND_TRUTH
    income = frame["Income"].to_numpy(dtype=float)
    missing = np.isnan(income)
    housing = frame["Housing"].astype(object)
    logit = (g["intercept"] + g["LatePayments"] * frame["LatePayments"] + g["DebtRatio"] * frame["DebtRatio"]
             + g["LoanAmount_per_1000"] * frame["LoanAmount"] / 1000 + g["EmploymentYears"] * frame["EmploymentYears"]
             + g["Income_missing"] * missing
             + g["log_Income_over_3000"] * np.where(missing, 0.0, np.log(np.where(missing, 3000, income) / 3000))
             + g["Housing=rent"] * (housing == "rent") + g["Housing=own"] * (housing == "own"))
    return 1.0 / (1.0 + np.exp(-np.asarray(logit, dtype=float)))
