"""One permission table (xai_gov.auth.permissions.GRANTS), enforced alike by the SDK, the CLI and the HTTP API.

For every operation the core checks a role for, and every role, the operation is
called through all three surfaces on one fresh store (SQLite and PostgreSQL): a
role the table does not grant is refused by each (PermissionDenied / CLI exit 2
with ``permission_denied`` / HTTP 403), and a granted role gets past the check on
each (it succeeds, or fails for another reason the same on every surface: an
unknown decision, a version already approved). The CLI acts in a role with
``--as-role``, the API with a key of that role.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.main import create_app
from xai_gov.actors import Actor, Role
from xai_gov.auth.permissions import GRANTS, Permission
from xai_gov.cli import app
from xai_gov.errors import PermissionDenied, XaiGovError
from xai_gov.lineage.models import LineageRecord
from xai_gov.registry.adapters import PythonAdapter
from xai_gov.registry.schema import FeatureSchema
from xai_gov.sdk import Client

MODEL = "tests.registry.fixtures_models:amount_rule"
REGISTRANT = Actor("registrant", Role.OWNER)
runner = CliRunner()


@dataclass
class Store:
    """One store seen through the three surfaces, with a registered (and approved) version and a key to revoke."""

    client: Client
    http: TestClient
    home: Path
    url: str
    files: dict[str, Path]
    background: pd.DataFrame
    schema: FeatureSchema
    keys: dict[Role, str] = field(default_factory=dict)
    key_id: int = 0
    serial: Iterator[int] = field(default_factory=count)

    def fresh(self, stem: str) -> str:
        return f"{stem}-{next(self.serial)}"


@pytest.fixture
def store(client: Client, tmp_path: Path, database_url: str,
          german_xy: tuple[pd.DataFrame, pd.Series]) -> Iterator[Store]:
    X, y = german_xy
    background = X.head(30)
    schema = FeatureSchema.infer(X, y, adverse_class="bad")
    files = {"background": tmp_path / "background.csv", "schema": tmp_path / "schema.json"}
    background.to_csv(files["background"], index=False)
    files["schema"].write_text(json.dumps(schema.to_dict()))
    client.register_adapter(name="m", adapter=PythonAdapter(MODEL), schema=schema, background=background,
                            lineage=LineageRecord(), actor=REGISTRANT)
    client.approve("m@1", actor=Actor("second", Role.APPROVER))  # approving again is a conflict, not a denial
    admin = Actor("root", Role.ADMIN)
    keys = {role: client.keys.create(name=f"{role.value}-key", role=role, actor=admin)[1] for role in Role}
    key_id = client.keys.create(name="to-revoke", role=Role.OFFICER, actor=admin)[0].id
    with TestClient(create_app(client=client)) as http:
        yield Store(client, http, tmp_path / "home", database_url, files, background, schema, keys, key_id)


# -- the operations: (permission, SDK call, CLI arguments, HTTP request) ---------------------------

Sdk = Callable[[Store, Actor], Any]
Cli = Callable[[Store], list[str]]
Http = Callable[[Store, dict[str, str]], Any]


def _register_sdk(s: Store, actor: Actor) -> Any:
    return s.client.register_adapter(name=s.fresh("sdk"), adapter=PythonAdapter(MODEL), schema=s.schema,
                                     background=s.background, lineage=LineageRecord(), actor=actor)


def _register_cli(s: Store) -> list[str]:
    return ["register", s.fresh("cli"), "--python", MODEL, "--background", str(s.files["background"]),
            "--schema", str(s.files["schema"]), "--code-path", str(s.home.parent)]


def _register_http(s: Store, headers: dict[str, str]) -> Any:
    files = {"background": ("b.csv", s.files["background"].read_bytes()),
             "schema": ("s.json", s.files["schema"].read_bytes())}
    return s.http.post("/v1/models", data={"name": s.fresh("api"), "python": MODEL}, files=files, headers=headers)


OPERATIONS: dict[str, tuple[Permission, Sdk, Cli, Http]] = {
    "register a model": (Permission.WRITE_MODELS, _register_sdk, _register_cli, _register_http),
    "move an alias": (
        Permission.WRITE_MODELS,
        lambda s, actor: s.client.move_alias("m", "staging", 1, actor=actor),
        lambda s: ["models", "alias", "m", "staging", "1"],
        lambda s, h: s.http.put("/v1/models/m/aliases/staging", json={"version": 1}, headers=h)),
    "approve a version": (
        Permission.APPROVE_MODELS,
        lambda s, actor: s.client.approve("m@1", actor=actor),
        lambda s: ["models", "approve", "m@1"],
        lambda s, h: s.http.post("/v1/models/m@1/approval", json={}, headers=h)),
    "create a key": (
        Permission.MANAGE_KEYS,
        lambda s, actor: s.client.keys.create(name=s.fresh("k"), role=Role.OFFICER, actor=actor),
        lambda s: ["keys", "create", "--role", "officer", "--name", s.fresh("k")],
        lambda s, h: s.http.post("/v1/keys", json={"name": s.fresh("k"), "role": "officer"}, headers=h)),
    "revoke a key": (
        Permission.MANAGE_KEYS,
        lambda s, actor: s.client.keys.revoke(key_id=s.key_id, actor=actor),
        lambda s: ["keys", "revoke", str(s.key_id)],
        lambda s, h: s.http.delete(f"/v1/keys/{s.key_id}", headers=h)),
    "export a model packet": (
        Permission.EXPORT_MODEL_PACKETS,
        lambda s, actor: s.client.export_model("m@1", actor=actor),
        lambda s: ["export", "model", "m@1", "-o", str(s.home.parent / f"{s.fresh('packet')}.pdf")],
        lambda s, h: s.http.get("/v1/models/m@1/packet", headers=h)),
    "export a decision packet": (
        Permission.EXPORT_DECISION_PACKETS,
        lambda s, actor: s.client.export_decision("0" * 32, actor=actor),
        lambda s: ["export", "decision", "0" * 32, "-o", str(s.home.parent / "decision.pdf")],
        lambda s, h: s.http.get(f"/v1/explanations/{'0' * 32}/packet", headers=h)),
    "read monitoring runs": (
        Permission.MONITOR,
        lambda s, actor: s.client.monitoring_runs("m@1", actor=actor),
        lambda s: ["monitoring", "list", "m@1"],
        lambda s, h: s.http.get("/v1/models/m@1/monitoring", headers=h)),
}


def _sdk_outcome(call: Callable[[], Any]) -> str:
    """"ok", or the code of the core error that refused the call."""
    try:
        call()
    except XaiGovError as error:
        return error.code
    return "ok"


def _cli_outcome(s: Store, role: Role, args: list[str]) -> str:
    result = runner.invoke(app, ["--home", str(s.home), "--database-url", s.url, "--as-role", role.value, *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    if result.exit_code == 0:
        return "ok"
    found = re.search(r"\[([a-z_]+)\]", result.stderr)
    assert result.exit_code == 2 and found, result.stderr
    return found.group(1)


def _http_outcome(response: Any) -> str:
    assert response.status_code != 401, response.text
    if response.status_code < 400:
        return "ok"
    code = response.json()["code"]
    assert (response.status_code == 403) == (code == "permission_denied"), response.text
    return code


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_sdk_cli_and_api_allow_and_refuse_alike(store: Store, operation: str) -> None:
    permission, sdk, cli, http = OPERATIONS[operation]
    outcomes = {}
    for role in Role:
        actor = Actor(f"{role.value}-person", role)
        outcomes[role] = (_sdk_outcome(lambda: sdk(store, actor)), _cli_outcome(store, role, cli(store)),  # noqa: B023
                          _http_outcome(http(store, {"Authorization": f"Bearer {store.keys[role]}"})))
    # Each role gets the same answer on the three surfaces: refused where the table does not grant the permission,
    # past the check where it does (the operation's own answer: done, or e.g. not found, already approved).
    granted = {role: next(o for o in outcomes[role]) for role in GRANTS[permission]}
    expected = {role: (granted[role],) * 3 if role in GRANTS[permission] else ("permission_denied",) * 3
                for role in Role}
    assert outcomes == expected, f"{operation} ({permission.value}): (SDK, CLI, API) outcomes"
    assert "permission_denied" not in granted.values()
    assert granted, f"no role may {permission.value}"


def test_every_permission_the_core_enforces_is_in_the_table() -> None:
    """Each permission an operation above checks is one of GRANTS' (no role check outside the table)."""
    assert {permission for permission, *_ in OPERATIONS.values()} <= set(GRANTS)


def test_an_admin_may_not_register_on_any_surface(store: Store) -> None:
    """The disagreement issue 13 found: the SDK let an admin register while the API answered 403."""
    admin = Actor("root", Role.ADMIN)
    with pytest.raises(PermissionDenied, match="may not register models"):
        _register_sdk(store, admin)
    assert _cli_outcome(store, Role.ADMIN, _register_cli(store)) == "permission_denied"
    assert _http_outcome(_register_http(store, {"Authorization": f"Bearer {store.keys[Role.ADMIN]}"})) \
        == "permission_denied"
    assert _sdk_outcome(lambda: _register_sdk(store, Actor("olga", Role.OWNER))) == "ok"


def test_an_unknown_role_on_the_command_line_is_named(store: Store) -> None:
    result = runner.invoke(app, ["--home", str(store.home), "--database-url", store.url, "--as-role", "boss",
                                 "models", "list"])
    assert result.exit_code == 2 and "as_role" in result.stderr and "unknown role 'boss'" in result.stderr
