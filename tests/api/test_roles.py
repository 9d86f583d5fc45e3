"""Every role against every endpoint: allowed, or 403 — never anything in between."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api

ALL = {"officer", "auditor", "owner", "admin"}
#: (method, path, body, roles allowed)
ENDPOINTS: list[tuple[str, str, Any, set[str]]] = [
    ("GET", "/v1/models", None, ALL),
    ("GET", "/v1/models/credit-risk@1", None, ALL),
    ("PUT", "/v1/models/credit-risk/aliases/champion", {"version": 1}, {"owner"}),
    ("POST", "/v1/models", None, {"owner"}),
    ("POST", "/v1/explanations", "explain", {"officer"}),
    ("GET", "/v1/explanations", None, {"officer", "auditor"}),
    ("GET", "/v1/explanations/{id}", None, {"officer", "auditor"}),
    ("POST", "/v1/explanations/{id}/replay", None, {"auditor"}),
    ("GET", "/v1/lineage/credit-risk@1", None, {"auditor"}),
    ("GET", "/v1/lineage?trainer=alice", None, {"auditor"}),
    ("GET", "/v1/audit/verify", None, {"auditor"}),
    ("GET", "/v1/audit/events", None, {"auditor"}),
    ("GET", "/v1/keys", None, {"admin"}),
    ("POST", "/v1/keys", {"name": "k", "role": "officer"}, {"admin"}),
    ("DELETE", "/v1/keys/999", None, {"admin"}),
    ("GET", "/v1/explanations/{id}/packet", None, {"officer", "auditor"}),
    ("GET", "/v1/explanations/{id}/notice", None, {"officer", "auditor"}),
    ("GET", "/v1/models/credit-risk@1/packet", None, {"auditor"}),
    ("POST", "/v1/batches", {"model": "unknown@1", "decisions": [{"decision_id": "B-1"}]}, {"owner", "auditor"}),
    ("GET", "/v1/batches", None, {"owner", "auditor"}),
    ("GET", "/v1/batches/no-such-job", None, {"owner", "auditor"}),
]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_every_role_against_every_endpoint(api: Api) -> None:
    record = api.explain().json()
    outcomes: dict[tuple[str, str, str], int] = {}
    for method, path, body, allowed in ENDPOINTS:
        for role in sorted(ALL):
            url = path.replace("{id}", record["id"])
            if body == "explain":
                response = api.explain(role=role)
            elif method == "POST" and path == "/v1/models":
                response = api.http.post(url, data={"name": "x"}, headers=api.as_(role))
            else:
                response = api.http.request(method, url, json=body, headers=api.as_(role))
            outcomes[(method, path, role)] = response.status_code
            if role in allowed:
                assert response.status_code != 403, (method, path, role, response.text)
            else:
                assert response.status_code == 403, (method, path, role, response.text)
                assert response.json()["code"] == "permission_denied"
    assert outcomes[("GET", "/v1/explanations/{id}", "officer")] == 200


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("headers", "words"), [
    ({}, "an API key is required"),
    ({"Authorization": "Bearer nonsense"}, "malformed"),
    ({"Authorization": "Bearer xg_00000000_" + "a" * 43}, "unknown API key"),
    ({"Authorization": "Basic dXNlcjpwYXNz"}, "an API key is required"),
])
def test_missing_unknown_or_malformed_keys_are_401(api: Api, headers: dict[str, str], words: str) -> None:
    response = api.http.get("/v1/models", headers=headers)
    assert response.status_code == 401 and words in response.json()["detail"]
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"
