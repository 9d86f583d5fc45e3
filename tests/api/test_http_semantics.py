"""HTTP semantics the OpenAPI document and RFC 9110 promise: Allow on 405, 413 for an oversize chunked body."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from tests.api.conftest import Api
from tests.api.test_bad_input import written


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_405_names_the_allowed_methods(api: Api) -> None:
    response = api.http.request("TRACE", "/healthz")
    assert response.status_code == 405 and response.headers["allow"] == "GET"
    assert response.headers["content-type"] == "application/problem+json"
    moved = api.http.delete("/v1/models/credit-risk/aliases/staging", headers=api.as_("owner"))
    assert moved.status_code == 405 and moved.headers["allow"] == "PUT"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_oversize_chunked_body_is_413(api: Api) -> None:
    api.client.settings.max_body_bytes = 2048

    def chunks() -> Iterator[bytes]:
        yield b'{"model": "credit-risk@staging", "decision_id": "D", "padding": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}'

    with TestClient(create_app(client=api.client)) as small:
        before = written(api)
        response = small.post("/v1/explanations", content=chunks(),
                              headers={**api.as_("officer"), "Content-Type": "application/json"})
        assert response.status_code == 413 and response.json()["code"] == "payload_too_large"
        assert written(api) == before
