"""numpy's global random generator, for the libraries that draw from it (shap's KernelExplainer, anchor-exp).

Every method of our own takes a per-call generator. Two libraries cannot: they seed
and draw from ``np.random`` directly. Two explanations in threads of one process
(two model versions explain in parallel) would then interleave their draws, and a
stored seed would no longer reproduce its record. ``seeded(seed)`` gives one caller
at a time the global generator, seeded, and puts its previous state back after.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

_LOCK = threading.Lock()


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    with _LOCK:
        before = np.random.get_state()
        np.random.seed(seed)
        try:
            yield
        finally:
            np.random.set_state(before)
