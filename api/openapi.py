"""The OpenAPI document tells the truth about errors: every status an operation can answer with, as
``application/problem+json`` with the ``Problem`` schema and an example (RFC 9457, see api/errors.py).

FastAPI documents only the success and a JSON 422 of its own shape; the service answers every error as
problem+json. Which statuses an operation can give follows from what it takes: any request may carry a
key in its query string (400); a key is checked (401), its role (403) and its rate (429); a body may be
malformed (400), too large (413) or of another media type (415); anything the core checks can be 422;
a name or id can be unknown (404); writes can clash (409); the store can fail its integrity check (500);
a model served over HTTP can fail (502); explaining can be busy or over its budget (503).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.errors import PROBLEM

#: The problem+json body (api.errors.problem): every error answer has exactly this shape.
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "An error, RFC 9457 problem details with the service's stable `code` and the offending `field`.",
    "required": ["type", "title", "status", "detail", "code", "field"],
    "properties": {
        "type": {"type": "string", "description": "https://xai-gov.dev/problems/<code>"},
        "title": {"type": "string", "description": "the code in words"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string", "description": "what is wrong, for a person"},
        "code": {"type": "string", "description": "stable, for scripts (see the README's error table)"},
        "field": {"type": ["string", "null"], "description": "the field, parameter or header at fault"},
        "errors": {"type": "array", "description": "every invalid field of a request that failed validation",
                   "items": {"type": "object", "properties": {"field": {"type": "string"},
                                                             "message": {"type": "string"}}}},
        "retry_after": {"type": "integer", "minimum": 1, "description": "seconds to wait (429)"},
    },
}

#: status -> (description, an example's code, field and detail)
ERRORS: dict[int, tuple[str, str, str | None, str]] = {
    400: ("Malformed request: a body that is not JSON, or an API key in the query string", "malformed_json",
          "body", "the body is not valid JSON: Expecting value"),
    401: ("No API key, or an unknown, revoked or tampered one", "unauthenticated", "authorization",
          "an API key is required: Authorization: Bearer <key>"),
    403: ("The key's role may not do this", "permission_denied", "role",
          "alice (f654980b) (auditor) may not explain decisions"),
    404: ("No such model, version, alias, explanation or key", "model_not_found", "model",
          "no model named 'credit-risk'"),
    409: ("The write clashes with what is stored, or the policy refuses it", "policy_violation", "approver",
          "credit-risk@2 may not take the production alias: policy 'default': no second person approved it"),
    413: ("The request body is over the size limit", "payload_too_large", "body",
          "the request body is over 67108864 bytes"),
    415: ("The body is not application/json", "unsupported_media_type", "content-type",
          "send the body as application/json, not text/plain"),
    422: ("A field, parameter or value is invalid (named in `field`)", "invalid_input", "decision_id",
          "decision_id holds a control character (U+0000 at position 4); text may not contain control characters"),
    429: ("Too many requests from this API key: wait `Retry-After` seconds", "rate_limited", "authorization",
          "more than 600 requests a minute from this API key; try again in 1 s"),
    500: ("The store failed an integrity check, or the service failed (logged, no trace in the answer)",
          "integrity_error", None, "credit-risk@1: the artifact no longer matches its SHA-256"),
    502: ("The model's HTTP endpoint failed", "model_endpoint_error", "model",
          "the model endpoint answered 500"),
    503: ("Every explanation slot is busy, or the explanation ran over its time budget", "busy", None,
          "every explanation slot stayed busy for 30 s; try again"),
}

_EXPLAINING = {("post", "/v1/explanations"), ("post", "/v1/explanations/{explanation_id}/replay")}
_MODEL_CALLS = _EXPLAINING | {("post", "/v1/models"), ("post", "/v1/models/import/mlflow")}
#: operations that take one of the service's explanation slots (503 when every slot stays busy)
_SLOTTED = _EXPLAINING | {("post", "/v1/models"), ("post", "/v1/models/{ref}/monitoring")}


def statuses(method: str, path: str, operation: dict[str, Any]) -> set[int]:
    """The error statuses ``operation`` can answer with."""
    found = {400, 500}
    if operation.get("security"):
        found |= {401, 403, 429}
    if path.startswith("/v1/"):
        found.add(404)
    if operation.get("parameters") or operation.get("requestBody"):
        found.add(422)
    body = operation.get("requestBody", {}).get("content", {})
    if body:
        found |= {413, 415} if "application/json" in body else {413}
    if method in ("post", "put", "delete"):
        found.add(409)
    if (method, path) in _MODEL_CALLS:
        found.add(502)
    if (method, path) in _SLOTTED or path == "/readyz":
        found.add(503)
    return found


def _response(status: int, described: str | None = None) -> dict[str, Any]:
    description, code, field, detail = ERRORS[status]
    example = {"type": f"https://xai-gov.dev/problems/{code}", "title": code.replace("_", " "), "status": status,
               "detail": detail, "code": code, "field": field}
    if status == 429:
        example["retry_after"] = 1
    response: dict[str, Any] = {"description": described or description, "content": {
        PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}, "example": example}}}
    if status == 429:
        response["headers"] = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}
    if status == 401:
        response["headers"] = {"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}}
    return response


def document(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` (FastAPI's) with every operation's error statuses as problem+json."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for status in statuses(method, path, operation):
                described = responses.get(str(status), {}).get("description")
                custom = described not in (None, "Validation Error")
                responses[str(status)] = _response(status, described if custom else None)
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    return schema


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
