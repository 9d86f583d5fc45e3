"""Registration is put together in one core function (xai_gov.registry.intake.register): the SDK, the CLI and
the API give the same version for the same model, schema, background, rule and alias."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.main import create_app
from xai_gov.actors import Actor, Role
from xai_gov.cli import app
from xai_gov.lineage.models import LineageRecord
from xai_gov.registry.adapters import PythonAdapter
from xai_gov.registry.schema import FeatureSchema
from xai_gov.sdk import Client

MODEL = "tests.registry.fixtures_models:amount_rule"


def _same_parts(client: Client, ref: str) -> dict[str, object]:
    version = client.get_model(ref)
    return {"adapter": version.adapter_spec, "schema": version.schema.to_dict(), "rule": version.rule.to_dict(),
            "background": version.background_sha256, "aliases": version.aliases}


def test_sdk_cli_and_api_register_the_same_version(client: Client, tmp_path: Path, database_url: str,
                                                   german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = german_xy
    schema = FeatureSchema.infer(X, y, adverse_class="bad")
    background = tmp_path / "background.csv"
    X.head(30).to_csv(background, index=False)
    schema_file = tmp_path / "schema.json"
    schema_file.write_text(json.dumps(schema.to_dict()))

    owner = Actor("olga", Role.OWNER)
    client.register_adapter(name="sdk", adapter=PythonAdapter(MODEL), schema=schema, background=pd.read_csv(background),
                            lineage=LineageRecord(), alias="staging", cutoff=0.4, actor=owner)
    result = CliRunner().invoke(app, ["--home", str(tmp_path / "home"), "--database-url", database_url, "register",
                                      "cli", "--python", MODEL, "--background", str(background), "--schema",
                                      str(schema_file), "--alias", "staging", "--cutoff", "0.4", "--code-path",
                                      str(tmp_path)])
    assert result.exit_code == 0, result.stderr
    key = client.keys.create(name="owner", role=Role.OWNER, actor=Actor("root", Role.ADMIN))[1]
    with TestClient(create_app(client=client)) as http:
        created = http.post("/v1/models", data={"name": "api", "python": MODEL, "alias": "staging", "cutoff": "0.4"},
                            files={"background": ("b.csv", background.read_bytes()),
                                   "schema": ("s.json", schema_file.read_bytes())},
                            headers={"Authorization": f"Bearer {key}"})
    assert created.status_code == 201, created.text

    sdk = _same_parts(client, "sdk@staging")
    assert sdk["aliases"] == ("staging",) and sdk["rule"]["cutoff"] == 0.4
    assert _same_parts(client, "cli@staging") == sdk
    assert _same_parts(client, "api@staging") == sdk


def test_class_names_are_overridden_alike_by_the_sdk_and_the_cli(client: Client, tmp_path: Path, database_url: str,
                                                                 german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = german_xy
    schema = FeatureSchema.infer(X, y, adverse_class="good")  # both override it to "bad"
    background = tmp_path / "background.csv"
    X.head(30).to_csv(background, index=False)
    schema_file = tmp_path / "schema.json"
    schema_file.write_text(json.dumps(schema.to_dict()))
    client.register(MODEL, X, y, name="sdk", schema=schema, background=X.head(30), class_names=["bad", "good"],
                    adverse_class="bad", code_path=None)
    result = CliRunner().invoke(app, ["--home", str(tmp_path / "home"), "--database-url", database_url, "register",
                                      "cli", "--python", MODEL, "--background", str(background), "--schema",
                                      str(schema_file), "--class-names", "bad,good", "--adverse-class", "bad",
                                      "--code-path", str(tmp_path)])
    assert result.exit_code == 0, result.stderr
    assert client.get_model("sdk@1").schema.adverse_class == client.get_model("cli@1").schema.adverse_class == "bad"
    assert _same_parts(client, "cli@1")["schema"] == _same_parts(client, "sdk@1")["schema"]


def test_a_registration_refused_before_the_registry_sees_it_is_still_ledgered(
        client: Client, german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    """Class names and the adverse class are applied to the schema before the registry's own checks; a refusal
    there is a ledger event with its reason too, whichever channel registered."""
    import pytest

    from xai_gov.errors import XaiGovError
    from xai_gov.registry.declarations import Declarations
    from xai_gov.registry.intake import Registration
    from xai_gov.registry.intake import register as register_version

    X, y = german_xy
    with pytest.raises(XaiGovError) as refused:
        register_version(client.registry, Registration(
            name="classes", adapter=PythonAdapter(MODEL), schema=FeatureSchema.infer(X, y, adverse_class="bad"),
            background=X.head(30), lineage=LineageRecord(), declarations=Declarations(),
            adverse_class="defaulted"), actor=Actor("olga", Role.OWNER))
    event = client.audit_events(limit=100)[-1]
    assert (event.action, event.subject, event.payload["message"]) == (
        "model.registration_refused", "classes", refused.value.message)
    assert client.list_models() == []
