"""Errors as RFC 9457 problem+json: one table maps the core's errors to HTTP statuses.

Every answer that is not a success carries ``type``, ``title``, ``status``,
``detail``, the core's stable ``code`` and, where there is one, the offending
``field``. No stack trace ever leaves the service.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from xai_gov.errors import (
    Conflict,
    IntegrityError,
    InvalidInput,
    ModelCheckFailed,
    ModelEndpointError,
    NotFound,
    PermissionDenied,
    RateLimited,
    Unauthenticated,
    Unavailable,
    XaiGovError,
)
from xai_gov.policies.evaluate import PolicyViolation

PROBLEM = "application/problem+json"
log = logging.getLogger("xai_gov.api")

#: Core error class -> HTTP status. The first match in order wins (subclasses first).
STATUS: tuple[tuple[type[XaiGovError], int], ...] = (
    (Unauthenticated, 401),
    (PermissionDenied, 403),
    (NotFound, 404),
    (PolicyViolation, 409),
    (Conflict, 409),
    (InvalidInput, 422),
    (ModelEndpointError, 502),
    (ModelCheckFailed, 422),
    (Unavailable, 503),
    (RateLimited, 429),
    (IntegrityError, 500),
)
#: Codes whose status differs from their class's.
CODE_STATUS = {"model_failed": 502, "payload_too_large": 413, "malformed_json": 400, "key_in_query": 400,
               "unsupported_media_type": 415}


def status_of(error: XaiGovError) -> int:
    if error.code in CODE_STATUS:
        return CODE_STATUS[error.code]
    return next((status for kind, status in STATUS if isinstance(error, kind)), 500)


def problem(status: int, code: str, detail: str, *, field: str | None = None,
            headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    body = {"type": f"https://xai-gov.dev/problems/{code}", "title": code.replace("_", " "), "status": status,
            "detail": detail, "code": code, "field": field, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(XaiGovError)
    async def core_error(_: Request, error: XaiGovError) -> JSONResponse:
        status = status_of(error)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        extra = {}
        if isinstance(error, RateLimited):
            headers, extra = {"Retry-After": str(error.retry_after)}, {"retry_after": error.retry_after}
        if status >= 500:
            log.error("%s: %s", error.code, error.message)
        return problem(status, error.code, error.message, field=error.field, headers=headers, **extra)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {"loc": (), "msg": "invalid request", "type": ""}
        location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path")]
        if first.get("type") == "json_invalid":
            return problem(400, "malformed_json", f"the body is not valid JSON: {first.get('msg')}", field="body")
        field = ".".join(location) or None
        return problem(422, "invalid_input", f"{field or 'request'}: {first.get('msg')}", field=field,
                       errors=[{"field": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg")}
                               for e in error.errors()[:20]])

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large",
                 415: "unsupported_media_type"}
        # Starlette's own headers travel on: Allow with a 405 names the methods the path takes.
        return problem(error.status_code, codes.get(error.status_code, "http_error"), str(error.detail),
                       headers=dict(error.headers or {}) or None)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return problem(500, "internal_error", "the service failed; the error is logged")
