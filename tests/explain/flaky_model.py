"""A model that answers small calls and fails on large ones, as a model server under load might.

It fails only while ``XAI_GOV_TEST_FLAKY`` is "1", so a test can register it (registration
runs one full explanation) and then make it fail mid-explanation.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd


def fails_on_big_batches(rows: pd.DataFrame) -> np.ndarray:
    if len(rows) > 50 and os.environ.get("XAI_GOV_TEST_FLAKY") == "1":
        raise RuntimeError("out of memory")
    return np.tile([0.3, 0.7], (len(rows), 1))
