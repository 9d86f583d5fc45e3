from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xai_gov.examples.credit_model import TrainedCreditModel, train_credit_model
from xai_gov.explain.space import ModelSpace
from xai_gov.registry.adapters import SklearnAdapter
from xai_gov.registry.schema import FeatureSchema


@pytest.fixture(scope="module")
def credit() -> TrainedCreditModel:
    return train_credit_model()


def test_one_hot_pipeline_takes_the_fast_path_with_identical_probabilities(credit: TrainedCreditModel) -> None:
    schema = FeatureSchema.infer(credit.X_train, credit.y_train, adverse_class="bad")
    background = schema.to_matrix(credit.X_train.head(200))
    fast = ModelSpace(schema, SklearnAdapter(credit.pipeline), background)
    slow = ModelSpace(schema, SklearnAdapter(credit.pipeline), background, use_fast_path=False)
    assert fast.model_path.startswith("fast path") and slow.model_path == "adapter predict_proba"
    rows = schema.to_matrix(credit.X_test)
    np.testing.assert_array_equal(fast.predict(rows), slow.predict(rows))
    np.testing.assert_array_equal(fast.predict(rows), credit.pipeline.predict_proba(credit.X_test))


def test_other_pipelines_keep_the_adapter_path(german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = german_xy  # a min-max scaled remainder is not a step the fast path rebuilds: no fast path is claimed
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline as SkPipeline
    from sklearn.preprocessing import MinMaxScaler, OneHotEncoder

    categorical = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    model = SkPipeline([("encode", ColumnTransformer([("c", OneHotEncoder(handle_unknown="ignore"), categorical)],
                                                     remainder=MinMaxScaler())),
                        ("classify", LogisticRegression(max_iter=1000))]).fit(X, y)
    schema = FeatureSchema.infer(X, y, adverse_class="bad")
    space = ModelSpace(schema, SklearnAdapter(model), schema.to_matrix(X.head(100)))
    assert space.model_path == "adapter predict_proba"
