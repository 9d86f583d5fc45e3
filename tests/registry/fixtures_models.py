"""Predict functions for the python adapter's tests, found by import path."""

from __future__ import annotations

import numpy as np
import pandas as pd


def amount_rule(rows: pd.DataFrame) -> np.ndarray:
    """P(bad) 0.8 above 5000 DM, else 0.2; classes (bad, good)."""
    bad = (rows["credit_amount"] > 5000).to_numpy()
    return np.where(bad[:, None], [[0.8, 0.2]], [[0.2, 0.8]])


def stepped_risk(rows: pd.DataFrame) -> np.ndarray:
    """P(bad) = 0.1, + 0.3 for an overdrawn checking account, + 0.2 for a loan over 24 months, + 0.1 for
    savings below 100 DM; classes (bad, good). An overdrawn applicant with a short loan and savings: 0.40."""
    p = (0.1 + 0.3 * (rows["checking_account"] == "below 0 DM").to_numpy()
         + 0.2 * (rows["duration_months"] > 24).to_numpy() + 0.1 * (rows["savings"] == "below 100 DM").to_numpy())
    return np.column_stack([p, 1.0 - p])


def one_column(rows: pd.DataFrame) -> np.ndarray:
    return np.full((len(rows), 1), 1.0)


def not_normalised(rows: pd.DataFrame) -> np.ndarray:
    return np.full((len(rows), 2), 0.7)


def crashes(rows: pd.DataFrame) -> np.ndarray:
    raise RuntimeError("feature store unavailable")


NOT_CALLABLE = 3


KILLER_AMOUNT = 123_456


def stepped_risk_that_kills(rows: pd.DataFrame) -> np.ndarray:
    """``stepped_risk``, except that a credit amount of exactly 123,456 DM kills the process computing it
    (as an out-of-memory kill would): the worker-pool tests' dying worker."""
    if (rows["credit_amount"] == KILLER_AMOUNT).any():
        import os
        import signal

        os.kill(os.getpid(), signal.SIGKILL)
    return stepped_risk(rows)


def stepped_risk_that_kills_workers(rows: pd.DataFrame) -> np.ndarray:
    """``stepped_risk``, except that it kills any worker process that calls it (registration's trial, in the
    registering process, passes): a version whose explainers cannot be built in a worker at the service's
    start."""
    import multiprocessing

    if multiprocessing.parent_process() is not None:
        import os
        import signal

        os.kill(os.getpid(), signal.SIGKILL)
    return stepped_risk(rows)


def stepped_risk_that_hangs_in_workers(rows: pd.DataFrame) -> np.ndarray:
    """``stepped_risk``, except that in a worker process it hangs for a minute (a model that deadlocks):
    registration's trial, in the registering process, passes."""
    import multiprocessing
    import time

    if multiprocessing.parent_process() is not None:
        time.sleep(60)
    return stepped_risk(rows)
