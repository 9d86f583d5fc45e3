from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from xai_gov.explain.methods.lime import LimeEngine, LimeParams, local_model
from xai_gov.explain.space import ModelSpace


def additive(rows: pd.DataFrame) -> np.ndarray:
    """Linear in LIME's representation of a renter saving below 100 DM."""
    return 0.1 + 0.4 * (rows["housing"] == "rent") + 0.3 * (rows["savings"] == "below 100 DM")


def test_engine_lime_is_exactly_plain_lime(make_space: Callable[..., ModelSpace], renter: np.ndarray) -> None:
    space = make_space(additive)
    engine = LimeEngine(space)
    outcome = engine.explain(renter, seed=11, params=LimeParams(num_samples=2000, repeats=2))
    plain = engine.plain_explainer(11).explain_instance(renter, space.predict, labels=(0,), num_features=20,
                                                        num_samples=2000)
    assert dict(plain.local_exp[0]) == outcome.fit.weights
    assert plain.intercept[0] == outcome.fit.intercept


def test_lime_fidelity_is_near_one_on_a_linear_model(make_space: Callable[..., ModelSpace],
                                                     renter: np.ndarray) -> None:
    space = make_space(additive)
    outcome = LimeEngine(space).explain(renter, seed=3, params=LimeParams(top_n=2))  # two features matter
    assert outcome.fresh_r2 > 0.99
    assert outcome.local_error < 0.01
    top_two = sorted(outcome.fit.weights, key=lambda j: -abs(outcome.fit.weights[j]))[:2]
    names = space.schema.names
    assert {names[j] for j in top_two} == {"housing", "savings"}
    assert outcome.stability.top_n_jaccard == 1.0 and outcome.stability.vsi == 1.0


def test_injected_noise_lowers_stability(make_space: Callable[..., ModelSpace], renter: np.ndarray) -> None:
    noise = np.random.default_rng(0)

    def noisy(rows: pd.DataFrame) -> np.ndarray:
        return additive(rows) * 0.2 + noise.uniform(0.0, 0.7, len(rows))

    params = LimeParams(num_samples=1000, repeats=5, top_n=2)
    clean = LimeEngine(make_space(additive)).explain(renter, seed=5, params=params)
    shaky = LimeEngine(make_space(noisy)).explain(renter, seed=5, params=params)
    assert shaky.stability.top_n_jaccard < clean.stability.top_n_jaccard
    assert shaky.stability.vsi < clean.stability.vsi
    assert shaky.fresh_r2 < 0.5 < clean.fresh_r2


def test_all_neighbourhoods_go_to_the_model_in_one_call(make_space: Callable[..., ModelSpace],
                                                        renter: np.ndarray) -> None:
    space = make_space(additive)
    LimeEngine(space).explain(renter, seed=1, params=LimeParams(num_samples=500, repeats=5))
    assert space.stats.calls == 1 and space.stats.rows == 500 * 6  # 5 repeats + the fresh neighbourhood


def test_the_k_feature_local_model_is_limes_own(make_space: Callable[..., ModelSpace], renter: np.ndarray) -> None:
    """local_model (used for the CSI) selects the features LIME selects, and fits LIME's coefficients."""
    def curved(rows: pd.DataFrame) -> np.ndarray:
        return 1 / (1 + np.exp(-(rows["credit_amount"] / 4000 - 1 + (rows["housing"] == "rent")
                                 - 0.05 * rows["duration_months"] / 12)))

    space = make_space(curved)
    engine = LimeEngine(space)
    for seed in (0, 1, 2):
        data, inverse = engine._sample(renter, seed, 1000)
        probabilities = space.predict(inverse)
        scaled = (data - engine.explainer.scaler.mean_) / engine.explainer.scaler.scale_
        distances = engine._distances(data)
        for k in (1, 3, 5):
            _, selected, _, _ = engine.explainer.base.explain_instance_with_data(
                scaled, probabilities, distances, 0, k, feature_selection="auto")
            used, ridge = local_model(scaled, probabilities[:, 0], engine.explainer.base.kernel_fn(distances), k)
            assert sorted(used) == sorted(int(j) for j, _ in selected)
            ours = dict(zip(used, ridge, strict=True))
            assert all(abs(ours[int(j)] - w) < 1e-8 for j, w in selected)
