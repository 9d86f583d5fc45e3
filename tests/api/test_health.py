from __future__ import annotations

from fastapi.testclient import TestClient

import xai_gov
from api.main import create_app


def test_healthz_answers() -> None:
    with TestClient(create_app()) as client:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": xai_gov.__version__}
