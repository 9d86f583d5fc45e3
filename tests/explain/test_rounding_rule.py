"""One rule for whole-number features on every model path (issue 9): LIME's fractional rows reach the
verified fast path and the adapter as the same rows, so they get the same probabilities."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from xai_gov.explain.space import ModelSpace, unique_rows
from xai_gov.registry.adapters import SklearnAdapter
from xai_gov.registry.schema import FeatureSchema


def test_fractional_rows_get_the_same_probabilities_on_the_fast_path_and_the_adapter(
        small_model: Pipeline, german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = german_xy
    schema = FeatureSchema.infer(X, y, adverse_class="bad")
    background = schema.to_matrix(X.head(200))
    fast = ModelSpace(schema, SklearnAdapter(small_model), background)
    general = ModelSpace(schema, SklearnAdapter(small_model), background, use_fast_path=False)
    assert fast.model_path.startswith("fast path") and general.model_path == "adapter predict_proba"
    rng = np.random.default_rng(3)
    rows = background[rng.integers(0, len(background), 3000)] + rng.normal(0, 0.4, (3000, background.shape[1]))
    rows = np.clip(rows, background.min(axis=0), background.max(axis=0))  # LIME-like: fractional everywhere
    assert np.array_equal(fast.predict(rows), general.predict(rows))
    integer = [j for j, f in enumerate(schema.features) if f.integer]
    assert integer and np.array_equal(fast.predict(rows), fast.predict(schema.canonical(rows)))
    assert not np.array_equal(rows[:, integer], np.rint(rows[:, integer]))  # the rows really were fractional


def test_unique_rows_is_exact() -> None:
    rows = np.array([[1.0, 2.0], [1.0, 2.0 + 1e-12], [1.0, 2.0], [0.0, 0.0]])
    unique, inverse = unique_rows(rows)
    assert len(unique) == 3 and np.array_equal(unique[inverse], rows)
