from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import Pipeline

from xai_gov.errors import InvalidInput, ModelCheckFailed
from xai_gov.registry.adapters import PythonAdapter, SklearnAdapter, adapter_from_spec, check_predictions


def test_skops_round_trip_predicts_identically(small_model: Pipeline,
                                               german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    X = german_xy[0].head(50)
    adapter = SklearnAdapter(small_model)
    loaded = adapter_from_spec(adapter.spec(), adapter.dump())
    np.testing.assert_array_equal(loaded.predict_proba(X), small_model.predict_proba(X))
    assert loaded.class_names() == ("bad", "good")


def test_skops_refuses_types_not_trusted_and_names_them(german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = german_xy
    forest = RandomForestClassifier(n_estimators=2, random_state=0).fit(X.select_dtypes("number"), y)
    with pytest.raises(InvalidInput, match=r"sklearn\.tree\._tree\.Tree") as caught:
        SklearnAdapter(forest).dump()
    assert caught.value.code == "untrusted_types"
    trusted = SklearnAdapter(forest, trusted_types=["sklearn.tree._tree.Tree"])
    data = trusted.dump()
    with pytest.raises(InvalidInput, match="not trusted by default"):
        SklearnAdapter.load(data, serialization="skops")
    assert SklearnAdapter.load(data, serialization="skops", trusted_types=["sklearn.tree._tree.Tree"]).class_names() \
        == ("bad", "good")


def test_joblib_round_trip(small_model: Pipeline, german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    X = german_xy[0].head(5)
    adapter = SklearnAdapter(small_model, serialization="joblib")
    loaded = SklearnAdapter.load(adapter.dump(), serialization="joblib")
    np.testing.assert_array_equal(loaded.predict_proba(X), small_model.predict_proba(X))


def test_damaged_artifacts_are_refused_clearly() -> None:
    with pytest.raises(InvalidInput, match="not a readable skops file"):
        SklearnAdapter.load(b"not a zip", serialization="skops")
    with pytest.raises(InvalidInput, match="joblib artifact does not load"):
        SklearnAdapter.load(b"not a pickle", serialization="joblib")


def test_python_adapter_resolves_an_import_path(german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    adapter = PythonAdapter("tests.registry.fixtures_models:amount_rule")
    X = german_xy[0].head(4)
    probabilities = adapter.predict_proba(X)
    assert probabilities.shape == (4, 2)
    assert adapter_from_spec(adapter.spec()).spec() == {"kind": "python",
                                                         "target": "tests.registry.fixtures_models:amount_rule"}


@pytest.mark.parametrize(("target", "words"), [
    ("no_colon", "not an import path"),
    ("no.such.module:f", "cannot import module 'no.such.module'"),
    ("tests.registry.fixtures_models:missing", "has no 'missing'"),
    ("tests.registry.fixtures_models:NOT_CALLABLE", "is not callable"),
])
def test_python_adapter_names_a_bad_target(target: str, words: str) -> None:
    with pytest.raises(InvalidInput, match=words):
        PythonAdapter(target)


@pytest.mark.parametrize(("function", "words"), [
    ("one_column", "returned shape \\(5, 1\\) for 5 rows; expected \\(5, 2\\)"),
    ("not_normalised", "rows must sum to 1; row 0 sums to 1.400000"),
    ("crashes", "predict_proba failed on 5 background rows: RuntimeError: feature store unavailable"),
])
def test_check_predictions_refuses_a_misbehaving_model(german_xy: tuple[pd.DataFrame, pd.Series], function: str,
                                                       words: str) -> None:
    adapter = PythonAdapter(f"tests.registry.fixtures_models:{function}")
    with pytest.raises(ModelCheckFailed, match=words):
        check_predictions(adapter, german_xy[0].head(5), 2)
