from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from xai_gov.examples.credit_model import TrainedCreditModel, train_credit_model
from xai_gov.explain.methods.shap import ShapEngine
from xai_gov.explain.space import ModelSpace
from xai_gov.registry.adapters import SklearnAdapter
from xai_gov.registry.schema import FeatureSchema


@pytest.fixture(scope="module")
def credit() -> TrainedCreditModel:
    return train_credit_model()


def test_tree_path_through_the_pipeline_sums_one_hot_columns_back(credit: TrainedCreditModel) -> None:
    schema = FeatureSchema.infer(credit.X_train, credit.y_train, adverse_class="bad")
    background = schema.to_matrix(credit.X_train.sample(100, random_state=0))
    space = ModelSpace(schema, SklearnAdapter(credit.pipeline), background)
    engine = ShapEngine(space)
    assert engine.algorithm == "tree"
    for i in range(3):
        x = schema.to_matrix(credit.X_test.iloc[[i]])[0]
        outcome = engine.explain(x, seed=0)
        assert set(outcome.values) == set(range(20))  # one value per original feature
        p_bad = credit.pipeline.predict_proba(credit.X_test.iloc[[i]])[0, 0]
        assert outcome.base_value + sum(outcome.values.values()) == pytest.approx(p_bad, abs=1e-6)


def test_kernel_path_for_any_other_model(make_space: Callable[..., ModelSpace], renter: np.ndarray) -> None:
    def additive(rows: pd.DataFrame) -> np.ndarray:
        return 0.1 + 0.4 * (rows["housing"] == "rent") + 0.3 * (rows["savings"] == "below 100 DM")

    space = make_space(additive)
    engine = ShapEngine(space)
    assert engine.algorithm == "kernel"
    outcome = engine.explain(renter, seed=0)
    names = space.schema.names
    top = sorted(outcome.values, key=lambda j: -abs(outcome.values[j]))[:2]
    assert {names[j] for j in top} == {"housing", "savings"}
    assert outcome.base_value + sum(outcome.values.values()) == pytest.approx(0.8, abs=1e-6)
    assert engine.explain(renter, seed=0) == outcome  # seeded


def test_kernel_shap_in_parallel_threads_gives_each_seed_its_own_values(credit: TrainedCreditModel) -> None:
    """Two versions explained at once in one process: KernelExplainer draws from np.random, which it sees as
    each call's own generator (library_rng), so the threads' draws never interleave and a seed reproduces its
    values; numpy's global generator is neither used nor changed."""
    import threading

    schema = FeatureSchema.infer(credit.X_train, credit.y_train, adverse_class="bad")
    background = schema.to_matrix(credit.X_train.sample(60, random_state=0))
    engines = [ShapEngine(ModelSpace(schema, SklearnAdapter(credit.pipeline), background), force_kernel=True)
               for _ in range(2)]
    rows = [schema.to_matrix(credit.X_test.iloc[[i]])[0] for i in range(2)]
    alone = [engine.explain(x, seed=7, samples=64) for engine, x in zip(engines, rows, strict=True)]
    together: dict[int, list] = {0: [], 1: []}

    def explain(k: int) -> None:
        for _ in range(3):
            together[k].append(engines[k].explain(rows[k], seed=7, samples=64))

    threads = [threading.Thread(target=explain, args=(k,)) for k in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert together[0] == [alone[0]] * 3 and together[1] == [alone[1]] * 3
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    engines[0].explain(rows[0], seed=7, samples=64)
    assert (np.random.get_state()[1] == before).all()
