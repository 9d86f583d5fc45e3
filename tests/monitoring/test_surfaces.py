"""The same monitoring from the CLI, the API and the model-version packet."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sklearn.pipeline import Pipeline
from typer.testing import CliRunner

from api.main import create_app
from tests.monitoring.conftest import Months
from xai_gov.actors import Actor, Role
from xai_gov.cli import app
from xai_gov.cli.demo import drifted_month
from xai_gov.monitoring.models import Check
from xai_gov.reports.layout import read_attachment
from xai_gov.sdk import Client
from xai_gov.timeutil import format_utc

runner = CliRunner()


def test_cli_monitor_prints_stores_and_reads_back(months: Months, tmp_path: Path) -> None:
    client = months.client
    base = ["--home", str(client.settings.home), "--database-url", client.settings.resolved_database_url]
    result = runner.invoke(app, [*base, "monitor", months.ref, "--since", format_utc(months.boundary), "--json"])
    assert result.exit_code == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed == client.monitoring_run(printed["id"]).to_dict()
    assert printed["decisions"] == 12
    table = runner.invoke(app, [*base, "monitoring", "show", printed["id"]])
    assert table.exit_code == 0 and "Input drift" in table.stdout and "DRIFTED" in table.stdout
    listed = runner.invoke(app, [*base, "monitoring", "list", months.ref, "--json"])
    assert [r["id"] for r in json.loads(listed.stdout)] == [printed["id"]]
    empty = runner.invoke(app, [*base, "monitor", months.ref, "--since", "2020-01-01", "--until", "2020-02-01"])
    assert empty.exit_code == 2 and "[no_decisions]" in empty.stderr and "no run was stored" in empty.stderr
    bad = runner.invoke(app, [*base, "monitor", months.ref, "--since", "last tuesday"])
    assert bad.exit_code == 2 and "not an ISO 8601" in bad.stderr


def test_api_monitoring_for_auditors_and_owners_only(months: Months) -> None:
    client = months.client
    admin = Actor("root", Role.ADMIN)
    keys = {role: client.keys.create(name=role.value, role=role, actor=admin)[1] for role in Role}
    body = {"since": format_utc(months.boundary)}
    with TestClient(create_app(client=client)) as http:
        def call(role: Role, method: str, path: str, **kwargs: Any) -> httpx.Response:
            return http.request(method, path, headers={"Authorization": f"Bearer {keys[role]}"}, **kwargs)

        for role in (Role.OFFICER, Role.ADMIN):
            denied = call(role, "POST", f"/v1/models/{months.ref}/monitoring", json=body)
            assert denied.status_code == 403, denied.text
        created = call(Role.AUDITOR, "POST", f"/v1/models/{months.ref}/monitoring", json=body)
        assert created.status_code == 201, created.text
        run = created.json()
        assert run == client.monitoring_run(run["id"]).to_dict() and run["run_by"].startswith("auditor")
        by_owner = call(Role.OWNER, "POST", f"/v1/models/{months.ref}/monitoring", json=body)
        assert by_owner.status_code == 201
        listed = call(Role.OWNER, "GET", f"/v1/models/{months.ref}/monitoring").json()
        assert [r["id"] for r in listed] == [by_owner.json()["id"], run["id"]]
        assert call(Role.AUDITOR, "GET", f"/v1/monitoring/{run['id']}").json() == run
        missing = call(Role.AUDITOR, "GET", "/v1/monitoring/nope")
        assert missing.status_code == 404 and missing.json()["code"] == "monitoring_run_not_found"
        empty = call(Role.AUDITOR, "POST", f"/v1/models/{months.ref}/monitoring",
                     json={"since": "2020-01-01T00:00:00Z", "until": "2020-02-01T00:00:00Z"})
        assert empty.status_code == 422 and empty.json()["code"] == "no_decisions"
        extra = call(Role.AUDITOR, "POST", f"/v1/models/{months.ref}/monitoring", json={"window": "june"})
        assert extra.status_code == 422
        naive = call(Role.AUDITOR, "POST", f"/v1/models/{months.ref}/monitoring", json={"since": "2026-11-01T00:00:00"})
        assert naive.status_code == 422 and naive.json()["field"] == "since", naive.text  # RFC 3339: with its offset
        odd = call(Role.AUDITOR, "GET", f"/v1/models/{months.ref}/monitoring", params={"limt": 5})
        assert odd.status_code == 422 and odd.json()["field"] == "limt", odd.text  # a misspelt parameter is named


def test_model_packet_has_the_monitoring_section_and_still_verifies(months: Months) -> None:
    client = months.client
    before = client.export_model(months.ref)
    assert "No monitoring run is stored" in _text(before)
    report = client.monitor(months.ref, since=months.boundary)
    pdf = client.export_model(months.ref)
    text = _text(pdf)
    for words in ("Monitoring", "Input drift", "PSI per feature", "Duration months", "Prediction drift",
                  "Explanation drift", "Trust drift", "Fair lending", "Personal status sex",
                  "below the minimum group size 30", report.id):
        assert words in text, words
    assert read_attachment(pdf)["monitoring_run"]["id"] == report.id
    assert client.verify_packet(pdf).ok


def _text(pdf: bytes) -> str:
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_demo_drifted_month_is_flagged(tmp_path: Path, small_model: Pipeline,
                                           german_xy: tuple[pd.DataFrame, pd.Series]) -> None:
    client = Client(home=tmp_path / "home", database_url=f"sqlite:///{tmp_path / 'demo.db'}")
    try:
        X, y = german_xy
        ref = client.register(small_model, X, y, name="credit-risk", adverse_class="bad", code_path=None).ref
        report = drifted_month(client, ref, X.iloc[:250], reference=12, drifted=40)
        drifted = {f.feature for f in report.input_drift.features if f.drifted}
        assert {"duration_months", "age"} <= drifted
        assert report.decisions == 40 and report.reference_decisions == 12
        assert report.explanation_drift is not None and report.trust_drift is not None
    finally:
        client.close()


def test_a_check_value_is_shown_with_its_digits() -> None:
    def shown(value: float | None) -> str:
        return Check(check="c", outcome="warn", value=value, threshold="t", why="w").shown

    assert [shown(v) for v in (None, 0.0, 1.2e-07, 0.00776, 0.749, 1.0)] == ["-", "0.000", "1.2e-07", "0.008",
                                                                             "0.749", "1.000"]
