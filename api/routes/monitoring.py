"""Monitoring (auditor, owner): run over a window of stored decisions (stored, ledgered), read stored runs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from api.deps import ClientDep, JsonBody, Monitor
from api.schemas.common import ModelRefPath, MonitoringRunId
from api.schemas.monitoring import MonitorIn
from xai_gov.monitoring.models import MonitoringReport

router = APIRouter(prefix="/v1", tags=["monitoring"])


@router.post("/models/{ref}/monitoring", status_code=201, response_model=MonitoringReport,
             summary="Monitor a version over a window of its stored decisions (auditor, owner).",
             dependencies=[JsonBody],
             description="Input drift per feature (PSI; KS or chi-squared), prediction drift, explanation drift "
                         "and trust drift against the earlier decisions, fair-lending metrics by protected group. "
                         "The run is stored and recorded in the audit ledger; a window with no decisions is "
                         "refused (422 no_decisions) and nothing is stored. Window bounds are RFC 3339 date-times with "
                         "their offset.")
def run_monitoring(ref: ModelRefPath, body: MonitorIn, request: Request, client: ClientDep,
                   who: Monitor) -> MonitoringReport:
    with request.app.state.gate.slot():
        return client.monitor(ref, since=body.since, until=body.until, reference_since=body.reference_since,
                              reference_until=body.reference_until, actor=who)


@router.get("/models/{ref}/monitoring", response_model=list[MonitoringReport],
            summary="A version's stored monitoring runs, newest first (auditor, owner).")
def list_monitoring(ref: ModelRefPath, client: ClientDep, who: Monitor,
                    limit: Annotated[int, Query(ge=1, le=500)] = 20) -> list[MonitoringReport]:
    return client.monitoring_runs(ref, limit=limit, actor=who)


@router.get("/monitoring/{run_id}", response_model=MonitoringReport, summary="One stored monitoring run.")
def get_monitoring(run_id: MonitoringRunId, client: ClientDep, who: Monitor) -> MonitoringReport:
    return client.monitoring_run(run_id, actor=who)
