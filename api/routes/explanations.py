"""Explanations: create (officer), read (an officer their own, an auditor all), replay (auditor)."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from api.deps import ClientDep, Explainer, ExplanationReader, JsonBody, Replayer, pdf_response
from api.schemas.common import ExplanationId, Instant, text_query
from api.schemas.explanations import ExplainIn, ExplanationOut, ExplanationPage, ReplayOut
from xai_gov.explain.engine import TimeBudget

router = APIRouter(prefix="/v1/explanations", tags=["explanations"])


@router.post("", status_code=201, response_model=ExplanationOut, summary="Explain one decision (officer).",
             dependencies=[JsonBody],
             description="Runs LIME, Anchor and SHAP (or the methods named), scores them, gives the principal "
                         "reasons and the policy verdict, and stores the record. CPU-heavy: it runs in a worker "
                         "thread, a limited number at a time, within a time budget. A decision id is explained "
                         "once (409 after that) unless `re_explain` is true. `options` may ask for more or fewer "
                         "samples and repeats, up to the policy's caps for the caller's role (fair use): a request "
                         "over a cap is refused with 422 naming the parameter.")
async def create_explanation(body: ExplainIn, request: Request, client: ClientDep,
                             officer: Explainer) -> ExplanationOut:
    # Async so that a request waiting for a slot waits on the event loop, holding no worker thread.
    gate = request.app.state.gate
    async with gate.waiting():
        record = await run_in_threadpool(partial(
            client.explain, body.model, body.instance, decision_id=body.decision_id, methods=body.methods,
            seed=body.seed, requested_by=officer.name, parameters=body.options,
            progress=TimeBudget(gate.budget_seconds), bank_decision=body.bank_decision,
            what_counted_against=body.what_counted_against, re_explain=body.re_explain, role=officer.role))
    for step, seconds in record.timings.items():
        request.app.state.metrics.explain.labels(step).observe(seconds)
    return await run_in_threadpool(ExplanationOut.from_domain, record)


@router.get("/{explanation_id}", response_model=ExplanationOut, summary="One stored explanation.")
def get_explanation(explanation_id: ExplanationId, client: ClientDep, reader: ExplanationReader) -> ExplanationOut:
    return ExplanationOut.from_domain(client.explanations.get(explanation_id, viewer=reader))


@router.get("", response_model=ExplanationPage, summary="Stored explanations, oldest first, paginated.")
def list_explanations(
    client: ClientDep, reader: ExplanationReader,
    model: Annotated[str | None, text_query(200)] = None,
    decision_id: Annotated[str | None, text_query(200)] = None,
    since: Instant | None = None, until: Instant | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50, offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> ExplanationPage:
    records = client.explanations.find(model=model, decision_id=decision_id, since=since, until=until, limit=limit,
                                       offset=offset, viewer=reader)
    return ExplanationPage(items=[ExplanationOut.from_domain(r) for r in records], limit=limit, offset=offset)


@router.post("/{explanation_id}/replay", response_model=ReplayOut,
             summary="Re-run a stored explanation and compare it field by field (auditor).")
def replay(explanation_id: ExplanationId, request: Request, client: ClientDep, _: Replayer) -> ReplayOut:
    with request.app.state.gate.slot():
        return ReplayOut.model_validate(client.replay(explanation_id).to_dict())


@router.get("/{explanation_id}/packet", response_class=Response, summary="The decision packet (PDF).",
            responses={200: {"content": {"application/pdf": {}}, "description": "The decision packet"}})
def decision_packet(explanation_id: ExplanationId, client: ClientDep, reader: ExplanationReader) -> Response:
    """An auditor: any decision; an officer: the decisions they explained. The export is recorded in the ledger."""
    return pdf_response(client.packets.decision(explanation_id, actor=reader), f"decision-{explanation_id}.pdf")


@router.get("/{explanation_id}/notice", response_class=Response,
            summary="The adverse action notice for the applicant (PDF).",
            responses={200: {"content": {"application/pdf": {}}, "description": "The adverse action notice"}})
def adverse_action_notice(explanation_id: ExplanationId, client: ClientDep, reader: ExplanationReader) -> Response:
    """An auditor: any adverse decision; an officer: the decisions they explained. Recorded in the ledger."""
    return pdf_response(client.packets.notice(explanation_id, actor=reader), f"notice-{explanation_id}.pdf")
