"""The served API refuses a pointer or a key changed outside the ledger, and signs checkpoints on its schedule."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
from fastapi.testclient import TestClient
from sklearn.pipeline import Pipeline
from sqlalchemy import select, update

from api.main import create_app
from tests.api.conftest import Api
from xai_gov.audit.checkpoints import CheckpointFiles
from xai_gov.config import Settings
from xai_gov.sdk import Client
from xai_gov.store.orm import AliasRow, ApiKeyRow, ModelVersionRow


def test_a_pointer_moved_in_the_database_is_refused_before_explaining(
        api: Api, small_model: Pipeline, german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    assert api.explain().status_code == 201
    api.client.register(small_model, *german_xy, name="credit-risk", adverse_class="bad", code_path=None)
    with api.client.database.session() as session:
        second = session.scalar(select(ModelVersionRow.id).where(ModelVersionRow.version == 2))
    with api.client.database.session() as session:
        session.execute(update(AliasRow).where(AliasRow.alias == "staging").values(model_version_id=second))
    refused = api.explain(decision_id="LOAN-2")
    assert refused.status_code == 500 and refused.json()["code"] == "alias_pointer_changed"
    assert "credit-risk@staging points to credit-risk@2" in refused.json()["detail"]


def test_a_role_raised_in_the_database_is_refused(api: Api) -> None:
    with api.client.database.session() as session:
        session.execute(update(ApiKeyRow).where(ApiKeyRow.name == "officer-1").values(role="admin"))
    refused = api.http.get("/v1/keys", headers=api.as_("officer"))
    assert refused.status_code == 401 and refused.json()["code"] == "key_tampered"


def test_the_service_signs_checkpoints_on_its_schedule(database_url: str, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", database_url=database_url, checkpoint_every_events=2,
                        checkpoint_poll_seconds=0.2)
    client = Client(settings)
    client.create_signing_key()
    try:
        with TestClient(create_app(client=client)):
            client.lineage_by_trainer("nobody")
            client.lineage_by_trainer("nobody")
            deadline = time.monotonic() + 60
            while not list(settings.resolved_checkpoint_dir.glob("*.jsonl")) and time.monotonic() < deadline:
                time.sleep(0.2)
        [(_, signed)] = CheckpointFiles(settings.resolved_checkpoint_dir).read()
        assert signed.seq == 2 and signed.signed_by.startswith("xai-gov service")
        assert client.verify_ledger(checkpoints=settings.resolved_checkpoint_dir).ok
    finally:
        client.close()
