"""CSI against Visani et al.'s reference implementation, lime-stability, on the same instances and seeds."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from lime_stability.stability import LimeTabularExplainerOvr
from lime_stability.utils import compare_confints
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from xai_gov.explain.methods.lime import LimeEngine, LimeParams
from xai_gov.explain.space import ModelSpace
from xai_gov.registry.adapters import SklearnAdapter
from xai_gov.registry.schema import FeatureSchema

HELD_OUT = 10


def reference_csi(engine: LimeEngine, x: np.ndarray, seed: int, params: LimeParams) -> tuple[float, float]:
    """lime-stability's CSI and VSI over the engine's repeats: one reference explainer per repeat's seed."""
    space, schema = engine.space, engine.space.schema
    intervals = []
    for r in range(params.repeats):
        explainer = LimeTabularExplainerOvr(
            space.background, mode="classification", feature_names=schema.names,
            categorical_features=space.categorical,
            categorical_names={j: list(schema.features[j].categories) for j in space.categorical},
            class_names=list(schema.class_names), discretize_continuous=True, discretizer="quartile",
            random_state=seed + r)
        explainer.explain_instance(x, space.predict, labels=(space.adverse_index,), num_features=params.top_n,
                                   num_samples=params.num_samples)
        intervals.append(explainer.confidence_intervals())
    csi, vsi = compare_confints(intervals)
    return csi / 100, vsi / 100


def test_csi_is_within_002_of_lime_stability_on_10_held_out_applicants(
        german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = german_xy
    train, held_out = X.iloc[:-HELD_OUT], X.iloc[-HELD_OUT:]
    categorical = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    model = Pipeline([("encode", ColumnTransformer([("c", OneHotEncoder(handle_unknown="ignore"), categorical)],
                                                   remainder=StandardScaler())),
                      ("classify", LogisticRegression(max_iter=1000))]).fit(train, y.iloc[:-HELD_OUT])
    schema = FeatureSchema.infer(train, y.iloc[:-HELD_OUT], adverse_class="bad")
    space = ModelSpace(schema, SklearnAdapter(model), schema.to_matrix(train.sample(200, random_state=0)))
    engine, params = LimeEngine(space), LimeParams(num_samples=1000)  # the reference builds an n x n weight matrix
    ours, theirs = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, x in enumerate(schema.to_matrix(held_out)):
            seed = 100 + i
            ours.append(engine.explain(x, seed=seed, params=params).stability.csi)
            theirs.append(reference_csi(engine, x, seed, params)[0])
    differences = np.abs(np.array(ours) - np.array(theirs))
    assert differences.max() <= 0.02, list(zip(ours, theirs, strict=True))
    assert min(ours) < 1.0  # the index can show instability (it read 1.000 for every applicant before)
