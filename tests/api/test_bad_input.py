"""Every class of bad input gets a clear problem+json and writes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.main import create_app
from tests.api.conftest import Api
from xai_gov.store.orm import AuditEventRow, ExplanationRow


def written(api: Api) -> tuple[int, int]:
    with api.client.database.session() as session:
        return (session.scalar(select(func.count()).select_from(ExplanationRow)) or 0,
                session.scalar(select(func.count()).select_from(AuditEventRow)) or 0)


def without(applicant: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in applicant.items() if k != name}


@pytest.mark.parametrize(("change", "status", "code", "field"), [
    (lambda a: {"instance": without(a, "age")}, 422, "invalid_input", "age"),
    (lambda a: {"instance": {**a, "shoe_size": 42}}, 422, "invalid_input", "shoe_size"),
    (lambda a: {"instance": {**a, "age": "old"}}, 422, "invalid_input", "age"),
    (lambda a: {"instance": {**a, "housing": "castle"}}, 422, "invalid_input", "housing"),
    (lambda a: {"model": "nothing@1"}, 404, "model_not_found", "model"),
    (lambda a: {"model": "credit-risk@9"}, 404, "version_not_found", "model"),
    (lambda a: {"model": "credit-risk@prod"}, 404, "alias_not_found", "model"),
    (lambda a: {"methods": ["magic"]}, 422, "invalid_input", "methods.0"),
    (lambda a: {"decision_id": ""}, 422, "invalid_input", "decision_id"),
    (lambda a: {"surprise": 1}, 422, "invalid_input", "surprise"),
    (lambda a: {"seed": "one"}, 422, "invalid_input", "seed"),
    (lambda a: {"options": {"lime": {"num_samples": "many"}}}, 422, "invalid_input", "parameters.lime.num_samples"),
    (lambda a: {"options": {"anchor": {"threshold": 2}}}, 422, "invalid_input", "parameters.anchor.threshold"),
    (lambda a: {"options": {"magic": {}}}, 422, "invalid_input", "parameters.magic"),
])
def test_bad_explanation_requests(api: Api, change: Any, status: int, code: str, field: str) -> None:
    before = written(api)
    body = {"model": "credit-risk@staging", "decision_id": "LOAN-9", "instance": api.applicant, "methods": ["lime"],
            **change(api.applicant)}
    response = api.http.post("/v1/explanations", json=body, headers=api.as_("officer"))
    problem = response.json()
    assert (response.status_code, problem["code"], problem["field"]) == (status, code, field), problem
    assert response.headers["content-type"] == "application/problem+json"
    assert problem["status"] == status and problem["detail"] and "Traceback" not in response.text
    assert written(api) == before


def test_nan_malformed_json_and_wrong_content_type(api: Api) -> None:
    before = written(api)
    officer = {**api.as_("officer"), "Content-Type": "application/json"}
    body = ('{"model": "credit-risk@staging", "decision_id": "D", "instance": {"age": NaN}}')
    nan = api.http.post("/v1/explanations", content=body, headers=officer)
    assert nan.status_code == 422 and "finite" in nan.json()["detail"]
    malformed = api.http.post("/v1/explanations", content=b'{"model": ', headers=officer)
    assert malformed.status_code == 400 and malformed.json()["code"] == "malformed_json"
    text = api.http.post("/v1/explanations", content=b"model=x", headers={**api.as_("officer"),
                                                                          "Content-Type": "text/plain"})
    assert text.status_code == 415 and text.json()["code"] == "unsupported_media_type"
    assert written(api) == before


def test_unknown_ids_and_query_string_keys(api: Api) -> None:
    auditor = api.as_("auditor")
    missing = api.http.get("/v1/explanations/0123456789abcdef", headers=auditor)
    assert missing.status_code == 404 and missing.json()["code"] == "explanation_not_found"
    assert api.http.get("/v1/models/nothing", headers=auditor).status_code == 404
    assert api.http.get("/v1/nowhere", headers=auditor).json()["code"] == "not_found"
    key = api.keys["auditor"]
    refused = api.http.get(f"/v1/audit/verify?api_key={key}")
    assert refused.status_code == 400 and refused.json()["code"] == "key_in_query"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_body_over_the_limit_is_413_and_writes_nothing(api: Api) -> None:
    api.client.settings.max_body_bytes = 2048
    with TestClient(create_app(client=api.client)) as small:
        before = written(api)
        response = small.post("/v1/explanations", headers=api.as_("officer"),
                              json={"model": "credit-risk@staging", "decision_id": "D", "instance": api.applicant,
                                    "padding": "x" * 5000})
        assert response.status_code == 413 and response.json()["code"] == "payload_too_large"
        assert written(api) == before


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_production_without_lineage_is_a_409_naming_the_fields(api: Api) -> None:
    response = api.http.put("/v1/models/credit-risk/aliases/production", json={"version": 1},
                            headers=api.as_("owner"))
    assert response.status_code == 409 and response.json()["code"] == "policy_violation"
    assert "code_repository" in response.json()["detail"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_explanation_over_its_time_budget_is_503_and_stores_nothing(api: Api) -> None:
    api.client.settings.explain_budget_seconds = 1e-6
    with TestClient(create_app(client=api.client)) as strict:
        before = written(api)
        response = strict.post("/v1/explanations", headers=api.as_("officer"),
                               json={"model": "credit-risk@staging", "decision_id": "D", "instance": api.applicant})
        assert response.status_code == 503 and response.json()["code"] == "explanation_over_budget"
        assert written(api) == before


@pytest.mark.parametrize(("fields", "words", "field"), [
    ({"protected": "shoe_size"}, "protected names a feature the model does not take: 'shoe_size'", "protected"),
    ({"nullable": "age"}, "'age' is declared nullable but holds no missing value", "age"),
    ({"class_labels": "maybe"}, "class label 'maybe' is not CLASS=NAME", "class_labels"),
])
def test_bad_declarations_at_registration_write_nothing(api: Api, fields: dict[str, str], words: str,
                                                        field: str) -> None:
    """Protected, nullable and class-label declarations are checked before anything is written (issue 9); the
    refusal is a ledger event (issue 12)."""
    import json

    import skops.io

    from xai_gov.registry.schema import FeatureSchema

    X = api.client.registry.load_background(api.client.get_model("credit-risk@1"))
    schema = FeatureSchema.infer(X, adverse_class="bad").with_classes(["bad", "good"], "bad")
    adapter = api.client.load_model("credit-risk@1")
    before = written(api)
    response = api.http.post("/v1/models", headers=api.as_("owner"), data={"name": "declared", **fields}, files={
        "artifact": ("model.skops", skops.io.dumps(adapter.estimator), "application/octet-stream"),  # type: ignore[attr-defined]
        "background": ("background.csv", X.to_csv(index=False).encode(), "text/csv"),
        "schema": ("schema.json", json.dumps(schema.to_dict()).encode(), "application/json")})
    problem = response.json()
    assert response.status_code == 422 and problem["field"] == field and words in problem["detail"], problem
    # Nothing written but the refusal itself, a ledger event with the reason (issue 12).
    assert written(api) == (before[0], before[1] + 1)
    refusal = api.client.audit_events(after=before[1], limit=10)[-1]
    assert refusal.action == "model.registration_refused" and refusal.payload["reasons"][0]["field"] == field
