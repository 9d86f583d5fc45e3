"""The space explainers work in: a model version's schema, background and predict function.

Explainers sample in the schema's numeric matrix (categories as indices). The
model is the expensive part, so every call goes through ``ModelSpace.predict``,
which evaluates identical rows once and counts calls and rows for the
benchmarks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from xai_gov.explain.fastpath import build_fast_path
from xai_gov.registry.adapters import ModelAdapter
from xai_gov.registry.schema import FeatureSchema


@dataclass
class CallStats:
    calls: int = 0
    rows: int = 0
    unique_rows: int = 0
    seconds: float = 0.0

    def reset(self) -> None:
        self.calls = self.rows = self.unique_rows = 0
        self.seconds = 0.0


@dataclass
class ModelSpace:
    schema: FeatureSchema
    adapter: ModelAdapter
    background: np.ndarray  # the background sample as a schema matrix
    stats: CallStats = field(default_factory=CallStats)

    use_fast_path: bool = True

    def __post_init__(self) -> None:
        self.adverse_index = self.schema.class_names.index(self.schema.adverse_class or "")
        self.categorical = [j for j, f in enumerate(self.schema.features) if f.kind == "categorical"]
        self.numeric = [j for j, f in enumerate(self.schema.features) if f.kind == "numeric"]
        self._fast = build_fast_path(self.adapter, self.schema, self.background) if self.use_fast_path else None

    @property
    def on_fast_path(self) -> bool:
        """Whether rows reach the model through the verified fast path rather than the adapter."""
        return self._fast is not None

    @property
    def model_path(self) -> str:
        """How explainers reach the model: recorded with every explanation."""
        return "fast path (verified identical to predict_proba)" if self.on_fast_path else "adapter predict_proba"

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        """Class probabilities for schema-matrix rows; identical rows are evaluated once.

        Rows are first put in canonical form (``FeatureSchema.canonical``: whole-number
        features and category indices rounded, a missing band to its code), the one rule
        every model path follows: LIME's fractional samples reach the fast path, the
        adapter and an HTTP endpoint as the same rows."""
        matrix = self.schema.canonical(matrix)
        unique, inverse = unique_rows(matrix)
        started = time.perf_counter()
        if self._fast is not None:
            probabilities = self._fast(unique)
        else:
            probabilities = self.adapter.predict_proba(self.schema.from_matrix(unique))
        self.stats.seconds += time.perf_counter() - started
        self.stats.calls += 1
        self.stats.rows += len(matrix)
        self.stats.unique_rows += len(unique)
        return np.asarray(probabilities, dtype=float)[inverse.reshape(-1)]

    def predict_class(self, matrix: np.ndarray) -> np.ndarray:
        return np.argmax(self.predict(matrix), axis=1)


def unique_rows(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows (in order of first appearance) and, per row, the index of its distinct row.

    Exact, and much faster than ``np.unique(axis=0)`` (which sorts rows as byte strings): each
    column's values are coded by ``pd.factorize`` (a hash table, no sort; a missing value is one
    value, and 0.0 and -0.0 are one), the codes combined column by column into one integer key,
    re-coded whenever the key could overflow; the key's own codes, in order of first appearance,
    number the distinct rows. About 3x faster than coding by ``np.unique`` on 30,000 rows."""
    if len(matrix) <= 1:
        return matrix, np.zeros(len(matrix), dtype=np.int64)
    key = np.zeros(len(matrix), dtype=np.int64)
    distinct = 1
    for j in range(matrix.shape[1]):
        codes, values = pd.factorize(matrix[:, j], use_na_sentinel=False)
        if distinct * len(values) >= 2**62:  # re-code the key to 0..n-1 before it could overflow
            key, _ = pd.factorize(key)
            distinct = int(key.max()) + 1
        key = key * len(values) + codes
        distinct *= len(values)
    inverse, _ = pd.factorize(key)  # codes in order of first appearance
    first = np.flatnonzero(~pd.Index(inverse).duplicated())
    return matrix[first], inverse.astype(np.int64)
