"""A model that answers small calls and fails on large ones, as a model server under load might."""

from __future__ import annotations

import numpy as np
import pandas as pd


def fails_on_big_batches(rows: pd.DataFrame) -> np.ndarray:
    if len(rows) > 50:
        raise RuntimeError("out of memory")
    return np.tile([0.3, 0.7], (len(rows), 1))
