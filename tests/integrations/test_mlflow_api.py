"""The API's MLflow import (owner) and lookups (auditor) answer as the SDK does."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from api.main import create_app
from tests.integrations.mlflow_store import COMMIT, MlflowStore
from xai_gov.actors import Actor, Role
from xai_gov.sdk import Client

pytest.importorskip("mlflow")


def test_an_owner_imports_over_http_and_an_auditor_finds_it_by_run_and_digest(
        tmp_path: Path, client: Client, small_model: Pipeline, german: pd.DataFrame) -> None:
    store = MlflowStore(tmp_path / "mlflow")
    try:
        logged = store.log_sklearn(clone(small_model), german.head(500), "credit_risk", registered_name="credit-api")
    finally:
        store.close()
    admin = Actor("root", Role.ADMIN)
    keys = {role: client.keys.create(name=role.value, role=role, actor=admin)[1] for role in Role}

    def auth(role: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {keys[role]}"}

    body = {"model_uri": "models:/credit-api/1", "tracking_uri": store.tracking_uri, "adverse_class": "bad",
            "alias": "staging"}
    with TestClient(create_app(client=client)) as http:
        assert http.post("/v1/models/import/mlflow", json=body, headers=auth(Role.OFFICER)).status_code == 403
        missing = http.post("/v1/models/import/mlflow", json={**body, "model_uri": "models:/credit-api/9"},
                            headers=auth(Role.OWNER))
        assert missing.status_code == 404 and missing.json()["field"] == "model_uri"
        bad_cutoff = http.post("/v1/models/import/mlflow", json={**body, "cutoff": 1.5}, headers=auth(Role.OWNER))
        assert bad_cutoff.status_code == 422 and bad_cutoff.json()["field"] == "cutoff"
        created = http.post("/v1/models/import/mlflow", json={**body, "cutoff": 0.4}, headers=auth(Role.OWNER))
        assert created.status_code == 201, created.text
        assert created.json()["decision_rule"]["cutoff"] == 0.4
        assert created.json()["ref"] == "credit-api@1" and created.json()["lineage"]["code_commit"] == COMMIT
        for query in (f"mlflow_run_id={logged.run_id}", f"dataset_digest={logged.dataset_digest}"):
            found = http.get(f"/v1/lineage?{query}", headers=auth(Role.AUDITOR))
            assert found.status_code == 200 and [v["ref"] for v in found.json()] == ["credit-api@1"]
        unknown = http.get("/v1/lineage?dataset_digest=feedface", headers=auth(Role.AUDITOR))
        assert unknown.status_code == 404 and unknown.json()["field"] == "dataset_digest"
