"""The real service: ``xai-gov serve`` in a subprocess on a free loopback port, spoken to over HTTP."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from tests.net import free_port
from xai_gov.actors import Actor, Role
from xai_gov.sdk import Client

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, small_model: Pipeline,
           german_xy: tuple[pd.DataFrame, pd.Series]) -> Iterator[tuple[str, dict[str, str], dict[str, object]]]:
    home = tmp_path_factory.mktemp("served")
    client = Client(home=home)
    X, y = german_xy
    client.register(small_model, X, y, name="credit-risk", adverse_class="bad", code_path=None, alias="staging")
    keys = {role.value: client.keys.create(name=role.value, role=role, actor=Actor("root", Role.ADMIN))[1]
            for role in Role}
    client.close()
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "xai_gov.cli", "--home", str(home), "serve", "--port",
                                str(port)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180  # a loaded machine takes a while to import the explainers
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            pytest.fail("the server did not become ready in 180 s")
        applicant = {k: v.item() if hasattr(v, "item") else v for k, v in X.iloc[3].items()}
        yield url, keys, applicant
    finally:
        process.terminate()
        process.wait(timeout=20)
        if process.stderr is not None:
            process.stderr.close()


def test_the_served_api_explains_and_answers_auditors(served: tuple[str, dict[str, str], dict[str, object]]) -> None:
    url, keys, applicant = served
    officer = {"Authorization": f"Bearer {keys['officer']}"}
    auditor = {"Authorization": f"Bearer {keys['auditor']}"}
    created = httpx.post(f"{url}/v1/explanations", headers=officer, timeout=120, json={
        "model": "credit-risk@staging", "decision_id": "SERVED-1", "instance": applicant, "methods": ["lime", "shap"],
        "options": {"lime": {"num_samples": 500, "repeats": 2}}})
    assert created.status_code == 201, created.text
    record = created.json()
    assert httpx.get(f"{url}/v1/explanations/{record['id']}", headers=auditor).json() == record
    assert httpx.get(f"{url}/v1/lineage?decision_id=SERVED-1", headers=auditor).json()[0]["ref"] == "credit-risk@1"
    assert httpx.get(f"{url}/v1/audit/verify", headers=auditor).json()["ok"] is True
    denied = httpx.get(f"{url}/v1/audit/verify", headers=officer)
    assert denied.status_code == 403 and denied.headers["content-type"] == "application/problem+json"
    assert "xai_gov_http_requests_total" in httpx.get(f"{url}/metrics").text
