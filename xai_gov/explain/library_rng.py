"""A random generator of its own for each call into a library that draws from numpy's global one.

Every method of our own takes a per-call generator. Two libraries cannot: shap's
KernelExplainer and anchor-exp draw from ``np.random`` directly (``np.random.choice``,
``np.random.permutation``, ``np.random.seed``). Seeding the global generator would let
two explanations in threads of one process (two model versions explain in parallel)
interleave their draws, and a stored seed would no longer reproduce its record.

So those library modules see numpy through ``_NumpyForLibraries``: numpy itself, except
that ``random`` is the generator of the call in progress (a ``RandomState`` seeded by
``seeded(seed)``, held in a context variable, so each thread has its own), or numpy's
global one outside such a call. ``RandomState(seed)`` draws exactly what
``np.random.seed(seed)`` followed by the same draws would, so records are unchanged.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from types import ModuleType
from typing import Any

import numpy as np

_CURRENT: ContextVar[np.random.RandomState | None] = ContextVar("xai_gov_library_rng", default=None)


class _NumpyForLibraries(ModuleType):
    """numpy, with ``random`` the current call's generator."""

    def __getattr__(self, name: str) -> Any:
        if name == "random":
            return _CURRENT.get() or np.random
        return getattr(np, name)


_NUMPY = _NumpyForLibraries("numpy")


def use_local_generators(*module_names: str) -> None:
    """Make the named library modules draw from the current call's generator (idempotent)."""
    for name in module_names:
        module = importlib.import_module(name)
        if getattr(module, "np", None) is np:
            module.np = _NUMPY  # type: ignore[attr-defined]


@contextmanager
def seeded(seed: int) -> Iterator[np.random.RandomState]:
    """A generator of this call's own, seeded, for the libraries set up by ``use_local_generators``."""
    token = _CURRENT.set(np.random.RandomState(seed))
    try:
        yield _CURRENT.get()  # type: ignore[misc]
    finally:
        _CURRENT.reset(token)
