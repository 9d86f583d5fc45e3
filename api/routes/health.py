"""Liveness, readiness and metrics: no key needed, never touched by explanations' work."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

import xai_gov
from api.deps import ClientDep
from api.errors import problem

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness: the process answers.")
async def healthz() -> dict[str, str]:
    return {"status": "ok", "version": xai_gov.__version__}


@router.get("/readyz", summary="Readiness: the database answers and its migrations are current.",
            responses={503: {"description": "Not ready (problem+json names why)"}})
async def readyz(client: ClientDep) -> object:
    try:
        current = await run_in_threadpool(client.database.current_revision)
    except xai_gov.XaiGovError as error:
        return problem(503, "not_ready", error.message)
    head = client.database.head_revision()
    if current != head:
        return problem(503, "not_ready", f"database at migration {current}, this version needs {head}")
    return {"status": "ready", "revision": current}


@router.get("/metrics", summary="Prometheus metrics: request counts and latencies, explanation time per method.",
            response_class=Response)
async def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
