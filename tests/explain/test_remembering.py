"""RememberingSpace: within one explanation a remote model is sent each distinct row once, and rows asked
ahead ride on the next call that is needed anyway; the probabilities are the model's own either way."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from tests.explain.conftest import FunctionAdapter
from xai_gov.explain.remembering import RememberingSpace
from xai_gov.explain.space import ModelSpace
from xai_gov.registry.schema import FeatureSchema


class RemoteFunction(FunctionAdapter):
    remote = True

    def __init__(self, p_bad: Callable[[pd.DataFrame], np.ndarray]) -> None:
        super().__init__(p_bad)
        self.sent: list[int] = []  # rows per call

    def predict_proba(self, rows: pd.DataFrame) -> Any:
        self.sent.append(len(rows))
        return super().predict_proba(rows)


class LocalFunction(RemoteFunction):
    remote = False


def by_age(rows: pd.DataFrame) -> np.ndarray:
    return np.asarray(rows["age"] / 100.0)


def test_a_remote_model_is_sent_each_row_once_and_rows_ahead_with_the_next_call(
        make_space: Callable[..., ModelSpace], german_schema: FeatureSchema) -> None:
    plain = make_space(by_age)
    adapter = RemoteFunction(by_age)
    space = RememberingSpace(german_schema, adapter, plain.background)
    assert space.remote and not space.asks_ahead
    first, later = plain.background[:50], plain.background[50:120]
    with space.remembering():
        assert space.asks_ahead
        space.ask_ahead(later)
        np.testing.assert_array_equal(space.predict(first), plain.predict(first))
        assert len(adapter.sent) == 1
        np.testing.assert_array_equal(space.predict(later), plain.predict(later))  # asked ahead: no call
        np.testing.assert_array_equal(space.predict(np.vstack([first, later])), plain.predict(np.vstack([first,
                                                                                                   later])))
        assert len(adapter.sent) == 1
    space.predict(first)  # outside an explanation: called as ModelSpace calls it
    assert len(adapter.sent) == 2
    assert not pickle.loads(pickle.dumps(space)).asks_ahead


def test_a_local_model_is_called_as_before(make_space: Callable[..., ModelSpace],
                                            german_schema: FeatureSchema) -> None:
    adapter = LocalFunction(by_age)
    space = RememberingSpace(german_schema, adapter, make_space(by_age).background)
    with space.remembering():
        assert not space.asks_ahead
        space.ask_ahead(space.background)
        space.predict(space.background[:10])
        space.predict(space.background[:10])
    assert adapter.sent == [10, 10]
