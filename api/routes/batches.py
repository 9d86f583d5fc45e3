"""Batch jobs (model owner, auditor): submit decisions to explain in the background, follow the job."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from api.deps import ClientDep, JsonBody, allowed_to
from api.schemas.batches import BatchIn, BatchJobOut
from xai_gov.actors import Actor
from xai_gov.auth.permissions import Permission
from xai_gov.batch.rows import BatchRow
from xai_gov.explain.engine import ExplainOptions

router = APIRouter(prefix="/v1/batches", tags=["batches"])
BatchRunner = Annotated[Actor, Depends(allowed_to(Permission.EXPLAIN_BATCH))]


@router.post("", status_code=202, response_model=BatchJobOut, dependencies=[JsonBody],
             summary="Explain many decisions in the background (owner, auditor).",
             description="Answers at once with the job; GET /v1/batches/{id} follows it. Each decision becomes an "
                         "ordinary stored explanation with its ledger event; decision ids already explained are "
                         "skipped, so submitting the same decisions again resumes an interrupted job. A bad row "
                         "fails alone, named by its position (`line`, from 1).")
def submit_batch(body: BatchIn, client: ClientDep, actor: BatchRunner) -> BatchJobOut:
    options = ExplainOptions.build(body.methods, body.seed, **body.options)
    rows = [BatchRow(line=n + 1, decision_id=_decision_id(row.get("decision_id")),
                     instance={k: v for k, v in row.items() if k != "decision_id"})
            for n, row in enumerate(body.decisions)]
    return BatchJobOut.from_domain(client.batch_jobs.submit(body.model, rows, options=options, actor=actor))


@router.get("/{job_id}", response_model=BatchJobOut, summary="One batch job: state, progress, summary.")
def get_batch(job_id: str, client: ClientDep, actor: BatchRunner) -> BatchJobOut:
    return BatchJobOut.from_domain(client.batch_jobs.get(job_id, actor=actor))


@router.get("", response_model=list[BatchJobOut], summary="The service's batch jobs, newest first.")
def list_batches(client: ClientDep, actor: BatchRunner) -> list[BatchJobOut]:
    return [BatchJobOut.from_domain(job) for job in client.batch_jobs.list(actor=actor)]


def _decision_id(value: object) -> str:
    """A decision id is text (or a whole number, as a CSV would give it); anything else is an empty id,
    which the batch names as that row's failure."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return ""
    return str(value).strip()
