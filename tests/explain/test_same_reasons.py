"""One answer per model, whatever the registration path (issue 9, DESIGN §8).

Each shipped example's fitted model is registered three ways: as a scikit-learn
artifact, as a Python function, and behind an HTTP endpoint speaking MLflow's
scoring protocol (tests/servers/model_server.py). The same applicants then get the
same principal reasons, signs and verdicts on every path:

- German credit (gradient-boosted trees): the artifact path uses interventional
  TreeSHAP, the two black-box paths Kernel SHAP over the same real background
  rows; attributions agree within ``KERNEL_TOLERANCE``;
- the synthetic example (logistic regression, missing values, 0/1 classes, its
  own reason codes and protected features): model-agnostic on every path, so
  every figure agrees exactly.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.servers import model_server
from xai_gov.datasets.german_credit import BAD
from xai_gov.examples import credit_model, synthetic_model
from xai_gov.explain.methods.shap import KERNEL_TOLERANCE
from xai_gov.registry.adapters import HttpAdapter
from xai_gov.sdk import Client

QUICK = {"lime": {"num_samples": 1000, "repeats": 3}, "anchor": {"repeats": 2, "fresh_samples": 300}}


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with model_server("german", "synthetic") as url:
        yield url


@pytest.fixture
def store(tmp_path: Any) -> Iterator[Client]:
    client = Client(home=tmp_path / "home", database_url=f"sqlite:///{tmp_path / 'store.db'}")
    yield client
    client.close()


def applicant(row: pd.Series) -> dict[str, Any]:
    return {k: (None if isinstance(v, float) and np.isnan(v) else v.item() if hasattr(v, "item") else v)
            for k, v in row.items()}


def register_three_ways(client: Client, name: str, pipeline: Any, python: str, url: str, X: pd.DataFrame,
                        y: pd.Series, **declared: Any) -> list[str]:
    refs = []
    for model in (pipeline, python, HttpAdapter(url, protocol="mlflow")):
        version = client.register(model, X, y, name=name, code_path=None, **declared)
        refs.append(version.ref)
    return refs


def explain_everywhere(client: Client, refs: list[str], rows: pd.DataFrame) -> list[list[Any]]:
    return [[client.explain(ref, applicant(row), decision_id=f"{ref}-{i}", parameters=QUICK)
             for i, (_, row) in enumerate(rows.iterrows())] for ref in refs]


def shap_values(record: Any) -> dict[str, float]:
    return {v["feature"]: v["contribution"] for v in record.section("shap")["values"]}


def test_german_credit_gives_the_same_reasons_three_ways(store: Client, server: str) -> None:
    trained = credit_model.trained()
    refs = register_three_ways(store, "german", trained.pipeline, "xai_gov.examples.credit_model:predict_proba",
                               f"{server}/models/german/invocations", trained.X_train, trained.y_train,
                               adverse_class=BAD, class_names=["bad", "good"],
                               trusted_types=list(credit_model.TRUSTED_TYPES))
    artifact, python, http = explain_everywhere(store, refs, trained.X_test.head(1))  # the kernel path is slow
    for tree, kernel_python, kernel_http in zip(artifact, python, http, strict=True):
        assert tree.section("shap")["algorithm"] == "tree" and kernel_python.section("shap")["algorithm"] == "kernel"
        exact, approximate = shap_values(tree), shap_values(kernel_python)
        assert max(abs(exact[f] - approximate[f]) for f in exact) <= KERNEL_TOLERANCE
        assert shap_values(kernel_http) == approximate  # the same rows, the same answers, over HTTP
        reasons = [{(r["code"], r["statement"]) for r in record.reasons} for record in (tree, kernel_python,
                                                                                         kernel_http)]
        assert reasons[0] == reasons[1] == reasons[2], reasons
        assert all(r["contribution"] > 0 for record in (tree, kernel_python) for r in record.reasons)
        for key in ("lime", "anchor", "counterfactuals"):  # LIME and Anchor see identical probabilities
            assert tree.section(key) == kernel_python.section(key) == kernel_http.section(key), key
        assert tree.verdict["outcome"] == kernel_python.verdict["outcome"] == kernel_http.verdict["outcome"]
        assert tree.parameters["model_path"].startswith("fast path")
        for record in (tree, kernel_python, kernel_http):
            assert not {"age", "personal_status_sex", "foreign_worker"} & {r["feature"] for r in record.reasons}


def test_the_synthetic_example_gives_the_same_reasons_three_ways(store: Client, server: str) -> None:
    trained = synthetic_model.trained()
    refs = register_three_ways(
        store, "synthetic", trained.pipeline, "xai_gov.examples.synthetic_model:predict_proba",
        f"{server}/models/synthetic/invocations", trained.X_train, trained.y_train,
        adverse_class=synthetic_model.ADVERSE_CLASS, class_names=["0", "1"],
        trusted_types=list(synthetic_model.TRUSTED_TYPES), protected=list(synthetic_model.PROTECTED),
        reason_codes=synthetic_model.reason_codes_path(), class_labels=synthetic_model.CLASS_LABELS)
    version = store.get_model(refs[0])
    assert {f.name for f in version.schema.features if f.protected} == {"Age", "Marital"}
    assert {f.name for f in version.schema.features if f.nullable} == {"Income", "Housing"}
    # an applicant who declared no income, and one with every field given
    X = trained.X_test
    rows = pd.concat([X[X["Income"].isna()].head(1), X[X.notna().all(axis=1)].head(1)])
    records = explain_everywhere(store, refs, rows)
    for artifact, python, http in zip(*records, strict=True):
        assert {r.section("shap")["algorithm"] for r in (artifact, python, http)} == {"kernel"}
        for field in ("reasons", "sections", "scores", "withheld_reasons"):
            assert getattr(artifact, field) == getattr(python, field) == getattr(http, field), field
        assert artifact.verdict["outcome"] == python.verdict["outcome"] == http.verdict["outcome"]
        assert not {"Age", "Marital", "Channel"} & {r["feature"] for r in artifact.reasons}
        assert all(r["code"].startswith("S") for r in artifact.reasons)
        assert artifact.scores["protected"]["features"] == ["Age", "Marital"]
        assert 0 <= artifact.scores["protected"]["attribution_share"] < 1
    no_income = records[0][0]
    assert no_income.instance["Income"] is None
    stated = {r["feature"]: r["statement"] for r in no_income.reasons}
    assert stated["Income"] == "No income declared", stated  # the ground truth's largest push, in the map's words
    assert any(c.endswith("is missing") for w in no_income.section("lime")["weights"] for c in [w["condition"]]
               if w["feature"] == "Income")
