"""Secrets never reach the logs: the real server's access and error logs are read after requests that carry
keys where they should not be; the metrics' labels hold none either."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from api.redaction import RedactingFilter, redact
from tests.net import free_port
from xai_gov.actors import Actor, Role
from xai_gov.sdk import Client

ROOT = Path(__file__).resolve().parents[2]


def test_the_access_log_and_metrics_of_the_served_api_hold_no_key(tmp_path: Path) -> None:
    home = tmp_path / "home"
    client = Client(home=home)
    key = client.keys.create(name="audra", role=Role.AUDITOR, actor=Actor("root", Role.ADMIN))[1]
    client.close()
    port, log = free_port(), tmp_path / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "xai_gov.cli", "--home", str(home), "serve", "--port",
                                   str(port)], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        else:
            pytest.fail("the server did not become ready in 180 s")
        assert httpx.get(f"{url}/v1/audit/verify?api_key={key}").status_code == 400
        assert httpx.get(f"{url}/v1/models?token={key}&x=1").status_code == 400
        assert httpx.get(f"{url}/v1/nowhere/{key}", headers={"Authorization": f"Bearer {key}"}).status_code == 404
        assert httpx.get(f"{url}/v1/audit/verify", headers={"Authorization": f"Bearer {key}"}).status_code == 200
        metrics = httpx.get(f"{url}/metrics").text
    finally:
        server.terminate()
        server.wait(timeout=30)
    written = log.read_text()
    secret = key.split("_")[2]
    assert "GET /v1/audit/verify?api_key=[redacted]" in written, written  # the request is logged, the key is not
    assert secret not in written and key not in written
    assert secret not in metrics and 'route="unmatched"' in metrics


def test_error_log_records_and_tracebacks_are_redacted() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("xai_gov.api.test-redaction")
    logger.addHandler(handler)
    logger.propagate = False
    key = "xg_abcd1234_" + "s3cr3t" * 8
    try:
        try:
            raise RuntimeError(f"failed with Authorization: Bearer {key}")
        except RuntimeError:
            logger.exception("request %s failed", f"/v1/models?api_key={key}")
        logger.error("database postgresql://svc:hunter2@db/xai unreachable")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert "s3cr3t" not in text and "hunter2" not in text
    assert "api_key=[redacted]" in text and "RuntimeError" in text and "svc:[redacted]@db" in text


def test_redact_keeps_what_is_not_secret() -> None:
    line = "GET /v1/explanations?decision_id=LOAN-1&limit=5"
    assert redact(line) == line
    assert redact("Authorization: Bearer abc.def") == "Authorization: Bearer [redacted]"
