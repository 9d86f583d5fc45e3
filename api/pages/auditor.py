"""The auditor's pages: lineage from every side, replay with a field-by-field diff, the ledger."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response

from api.pages.base import FormDep, PageRoute, SessionDep, client_of, render
from xai_gov.auth.permissions import Permission, require
from xai_gov.errors import InvalidInput
from xai_gov.explain.records import ExplanationRecord
from xai_gov.lineage.models import LineageView, external_rows

router = APIRouter(prefix="/ui", route_class=PageRoute)
EVENTS_PAGE = 100
FILTERS = ("decision_id", "model", "data_hash", "commit", "trainer", "since", "until")


@router.get("/lineage")
def lineage(request: Request, session: SessionDep,
            decision_id: Annotated[str, Query(max_length=200)] = "",
            model: Annotated[str, Query(max_length=200)] = "",
            data_hash: Annotated[str, Query(max_length=80)] = "",
            commit: Annotated[str, Query(max_length=64)] = "",
            trainer: Annotated[str, Query(max_length=200)] = "",
            since: Annotated[str, Query(max_length=10)] = "",
            until: Annotated[str, Query(max_length=10)] = "",
            mlflow_run: Annotated[str, Query(max_length=64)] = "",
            dataset_digest: Annotated[str, Query(max_length=200)] = "",
            date_field: Literal["registered", "trained"] = "registered") -> Response:
    """Search by one side (a decision id or a model version) or any combination of the others."""
    require(session.actor, Permission.READ_LINEAGE)
    client = client_of(request)
    query = {k: v.strip() for k, v in {"decision_id": decision_id, "model": model, "data_hash": data_hash,
                                       "commit": commit, "trainer": trainer, "since": since, "until": until,
                                       "mlflow_run": mlflow_run, "dataset_digest": dataset_digest}.items()}
    views: list[LineageView] | None = None
    records: list[ExplanationRecord] = []
    if query["decision_id"]:
        views = client.lineage_by_decision(query["decision_id"], actor=session.actor)
        records = client.explanations.find(decision_id=query["decision_id"], viewer=session.actor)
    elif query["model"]:
        views = [client.lineage(query["model"], actor=session.actor)]
    elif any(query[k] for k in ("data_hash", "commit", "trainer", "since", "until", "mlflow_run",
                                "dataset_digest")):
        views = client.find_lineage(data_sha256=query["data_hash"] or None, commit=query["commit"] or None,
                                    trainer=query["trainer"] or None, since=_day(query["since"], "since"),
                                    until=_day(query["until"], "until", end=True), date_field=date_field,
                                    mlflow_run_id=query["mlflow_run"] or None,
                                    dataset_digest=query["dataset_digest"] or None, actor=session.actor)
    external = {v.ref: external_rows(v.lineage) for v in views or ()}  # MLflow, DVC, data versions
    return render(request, "lineage.html", session, query=query, date_field=date_field, views=views,
                  records=records, external=external)


def _day(text: str, field: str, *, end: bool = False) -> datetime | None:
    """A date from the form as a UTC instant: its start, or for 'until' the start of the next day."""
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{field}: {text!r} is not a date (YYYY-MM-DD)", field=field) from None
    return datetime.combine(day + timedelta(days=1) if end else day, time(), tzinfo=UTC)


@router.post("/decisions/{explanation_id}/replay")
def replay(explanation_id: str, request: Request, session: SessionDep, _: FormDep) -> Response:
    require(session.actor, Permission.REPLAY)
    client = client_of(request)
    record = client.explanations.get(explanation_id, viewer=session.actor)
    with request.app.state.gate.slot():
        report = client.replay(explanation_id)
    return render(request, "replay.html", session, record=record, report=report,
                  differing=[f.field for f in report.fields if not f.matches],
                  rows=[(f.field, f.matches, _short(f.stored), _short(f.replayed)) for f in report.fields])


def _short(value: Any, limit: int = 600) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + f"… ({len(text)} characters)"


@router.get("/ledger")
def ledger(request: Request, session: SessionDep, after: Annotated[int, Query(ge=0, le=2**62)] = 0) -> Response:
    require(session.actor, Permission.READ_AUDIT)
    events = client_of(request).audit_events(after=after, limit=EVENTS_PAGE)
    return render(request, "ledger.html", session, events=events, after=after, report=None,
                  next_after=events[-1].seq if len(events) == EVENTS_PAGE else None)


@router.post("/ledger/verify")
def verify(request: Request, session: SessionDep, _: FormDep) -> Response:
    require(session.actor, Permission.READ_AUDIT)
    report = client_of(request).verify_ledger()
    return render(request, "ledger.html", session, events=None, after=0, report=report, next_after=None)
