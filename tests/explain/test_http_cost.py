"""A model over HTTP costs few requests per explanation (issue 9): at most 10 for a default explanation.

Counted at the server (tests/servers/model_server.py, MLflow's scoring protocol), for both shipped
examples registered as HTTP endpoints. Not timed: the time against the same model loaded locally is
measured by bench/http_bench.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from tests.servers import model_server
from xai_gov.examples import credit_model, synthetic_model
from xai_gov.registry.adapters import HttpAdapter
from xai_gov.sdk import Client

MAX_REQUESTS = 10


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with model_server("german", "synthetic") as url:
        yield url


def applicant(row: pd.Series) -> dict[str, Any]:
    return {k: (None if isinstance(v, float) and np.isnan(v) else v.item() if hasattr(v, "item") else v)
            for k, v in row.items()}


@pytest.mark.parametrize("example", ["german", "synthetic"])
def test_a_default_explanation_over_http_needs_at_most_10_requests(server: str, example: str, tmp_path: Any) -> None:
    if example == "german":
        model, declared = credit_model.trained(), {"adverse_class": "bad", "class_names": ["bad", "good"]}
    else:
        model = synthetic_model.trained()
        declared = {"adverse_class": synthetic_model.ADVERSE_CLASS, "class_names": ["0", "1"],
                    "protected": list(synthetic_model.PROTECTED), "reason_codes": synthetic_model.reason_codes_path()}
    path = f"/models/{example}/invocations"
    client = Client(home=tmp_path / "home", database_url=f"sqlite:///{tmp_path / 'store.db'}")
    try:
        version = client.register(HttpAdapter(f"{server}{path}", protocol="mlflow"), model.X_train, model.y_train,
                                  name=example, code_path=None, **declared)
        X = model.X_test
        # the first explanation of a version also asks for the reference values; an adverse and a favourable one
        rows = [X.iloc[0], X.iloc[1]] if example == "german" else [X[X["Income"].isna()].iloc[0], X.iloc[0]]
        for i, row in enumerate(rows):
            httpx.post(f"{server}/reset")
            record = client.explain(version.ref, applicant(row), decision_id=f"{example}-{i}")
            requests = httpx.get(f"{server}/stats").json().get(path, 0)
            assert {"lime", "anchor", "shap"} <= set(record.methods)  # the full default explanation
            assert 1 <= requests <= MAX_REQUESTS, (example, i, requests)
    finally:
        client.close()
