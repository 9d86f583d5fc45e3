"""ASGI middleware: request size limit, keys refused in query strings, Prometheus metrics."""

from __future__ import annotations

import time
from collections.abc import MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import problem
from xai_gov.store.db import LEDGER_LOCK_WAIT

KEY_PARAMETERS = frozenset({"api_key", "apikey", "key", "token", "access_token", "authorization"})
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    """Request counts and latencies per route, explanation latency per method; one registry per app."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("xai_gov_http_requests", "HTTP requests", ["method", "route", "status"],
                                registry=self.registry)
        self.latency = Histogram("xai_gov_http_request_seconds", "HTTP request latency", ["method", "route"],
                                 buckets=LATENCY_BUCKETS, registry=self.registry)
        self.explain = Histogram("xai_gov_explanation_step_seconds", "Explanation time per step (method)",
                                 ["step"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.registry.register(LEDGER_LOCK_WAIT)  # the core's, for this process (every app in it shows the same)


class GuardMiddleware:
    """Refuses a body over ``max_body_bytes`` (413) and an API key in the query string (400)."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        if any(name.lower() in KEY_PARAMETERS for name, _ in query):
            await problem(400, "key_in_query", "API keys are refused in query strings (they end up in logs): "
                          "send Authorization: Bearer <key>", field="query")(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._too_large(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await self._too_large(scope, receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        await problem(413, "payload_too_large", f"the request body is over {self.max_body_bytes} bytes",
                      field="body")(scope, receive, send)


class _TooLarge(HTTPException):
    """Raised while the body streams in (chunked, no Content-Length). An HTTPException, so FastAPI's body
    parsing lets it through as a 413 instead of turning it into a 400 "error parsing the body"."""

    def __init__(self) -> None:
        super().__init__(413, "the request body is over the size limit")


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}

        async def recording(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording)
        finally:
            route = _route_of(scope)
            # Labels hold only the route's template and a known method: never a client's text (ids, keys).
            method = scope["method"] if scope["method"] in METHODS else "other"
            self.metrics.requests.labels(method, route, str(status["code"])).inc()
            self.metrics.latency.labels(method, route).observe(time.perf_counter() - started)


def _route_of(scope: MutableMapping[str, Any]) -> str:
    """The route's template (/v1/explanations/{explanation_id}), so ids do not explode the label set."""
    route = scope.get("route")
    return getattr(route, "path", None) or "unmatched"
