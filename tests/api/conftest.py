"""An API over a fresh store (SQLite and PostgreSQL) with a model and one key per role."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sklearn.pipeline import Pipeline

from api.main import create_app
from xai_gov.actors import Actor, Role
from xai_gov.sdk import Client

QUICK = {"lime": {"num_samples": 300, "repeats": 2}, "anchor": {"repeats": 1, "fresh_samples": 200}}


@dataclass
class Api:
    http: TestClient
    client: Client
    keys: dict[str, str]
    applicant: dict[str, Any]

    def as_(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}

    def explain(self, role: str = "officer", **changes: Any) -> Any:
        body = {"model": "credit-risk@staging", "decision_id": "LOAN-1", "instance": self.applicant,
                "methods": ["lime", "anchor"], "options": QUICK, **changes}
        return self.http.post("/v1/explanations", json=body, headers=self.as_(role))


@pytest.fixture
def api(client: Client, small_model: Pipeline, german_xy: tuple[pd.DataFrame, pd.Series]) -> Iterator[Api]:
    X, y = german_xy
    client.register(small_model, X, y, name="credit-risk", adverse_class="bad", trainer="alice", code_path=None,
                    alias="staging")
    admin = Actor("root", Role.ADMIN)
    keys = {role.value: client.keys.create(name=f"{role.value}-1", role=role, actor=admin)[1] for role in Role}
    keys["officer2"] = client.keys.create(name="officer-2", role=Role.OFFICER, actor=admin)[1]
    applicant = {k: v.item() if hasattr(v, "item") else v for k, v in X.iloc[0].items()}
    with TestClient(create_app(client=client)) as http:
        yield Api(http, client, keys, applicant)
