"""The production gate over HTTP and the CLI; registration over HTTP records the client's environment or
none — never the server's."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import skops.io
from sklearn.pipeline import Pipeline
from typer.testing import CliRunner

from tests.api.conftest import Api
from xai_gov.actors import Actor, Role
from xai_gov.cli import app
from xai_gov.sdk import Client


def test_approval_over_http_and_refusals_in_the_ledger(api: Api) -> None:
    denied = api.http.post("/v1/models/credit-risk@1/approval", json={}, headers=api.as_("officer"))
    assert denied.status_code == 403 and denied.json()["code"] == "permission_denied"
    refused = api.http.put("/v1/models/credit-risk/aliases/production", json={"version": 1}, headers=api.as_("owner"))
    assert refused.status_code == 409 and "no second person approved it" in refused.json()["detail"]
    approved = api.http.post("/v1/models/credit-risk@staging/approval", json={"note": "VR-17"},
                             headers=api.as_("approver"))
    assert approved.status_code == 200, approved.text
    assert approved.json()["lineage"]["approver"].startswith("approver-1 (")
    again = api.http.post("/v1/models/credit-risk@1/approval", json={}, headers=api.as_("owner"))
    assert again.status_code == 409 and again.json()["code"] == "already_approved"
    actions = [e.action for e in api.client.audit_events(limit=1000)]
    assert actions.count("model.approval_refused") == 2 and actions.count("alias.refused") == 1
    assert actions.count("model.approved") == 1
    assert api.client.verify_ledger().ok


def test_http_registration_takes_the_environment_from_the_client(api: Api, small_model: Pipeline,
                                                                 german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    X, _ = german_xy
    schema = json.dumps(api.client.get_model("credit-risk@1").schema.to_dict()).encode()

    def register(lineage: dict[str, object]) -> dict[str, object]:
        files = {"artifact": ("m.skops", skops.io.dumps(small_model)),
                 "background": ("b.csv", X.head(40).to_csv(index=False).encode()), "schema": ("s.json", schema),
                 "lineage": ("l.json", json.dumps(lineage).encode())}
        response = api.http.post("/v1/models", data={"name": "credit-risk"}, files=files, headers=api.as_("owner"))
        assert response.status_code == 201, response.text
        return response.json()["lineage"]

    without = register({"trainer": "alice"})
    assert without["environment"] == {} and "not sent by the client" in without["missing"]["environment"]
    sent = {"python": "3.12.1", "packages": {"scikit-learn": "1.5.0"}}
    assert register({"trainer": "alice", "environment": sent})["environment"] == sent


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_cli_approve(client: Client, small_model: Pipeline, german_xy: tuple[pd.DataFrame, pd.Series],
                     database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    X, y = german_xy
    client.register(small_model, X, y, name="credit-risk", adverse_class="bad", code_path=None,
                    actor=Actor("otto", Role.OWNER))
    home = str(client.settings.home)
    runner = CliRunner()
    monkeypatch.setenv("LOGNAME", "otto")  # the CLI acts as the user at the keyboard
    mine = runner.invoke(app, ["--home", home, "--database-url", database_url, "models", "approve", "credit-risk@1"])
    assert mine.exit_code != 0 and "a second person must approve it" in mine.output
    monkeypatch.setenv("LOGNAME", "ada")
    done = runner.invoke(app, ["--home", home, "--database-url", database_url, "models", "approve", "credit-risk@1",
                               "--note", "VR-17", "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["lineage"]["approver"] == "ada"
