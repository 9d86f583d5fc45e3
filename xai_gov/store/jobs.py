"""The repository of batch jobs: each job's stored form and its process's heartbeat (plain dicts in and out;
the job type lives in ``xai_gov.batch.jobs``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from xai_gov.store.orm import BatchJobRow


def save_job(session: Session, job: dict[str, Any], *, submitted_at: datetime, heartbeat_at: datetime) -> None:
    """Insert or replace one job's stored form."""
    row = session.get(BatchJobRow, job["id"])
    if row is None:
        session.add(BatchJobRow(id=job["id"], requested_by=job["requested_by"], submitted_at=submitted_at,
                                heartbeat_at=heartbeat_at, job=job))
    else:
        row.job, row.heartbeat_at = job, heartbeat_at
    session.flush()


def touch_jobs(session: Session, job_ids: list[str], *, heartbeat_at: datetime) -> None:
    """The process holding these jobs is alive."""
    if job_ids:
        session.execute(update(BatchJobRow).where(BatchJobRow.id.in_(job_ids)).values(heartbeat_at=heartbeat_at))


def get_job(session: Session, job_id: str) -> tuple[dict[str, Any], datetime] | None:
    row = session.get(BatchJobRow, job_id)
    return None if row is None else (dict(row.job), row.heartbeat_at)


def list_jobs(session: Session, *, requested_by: str | None, limit: int) -> list[tuple[dict[str, Any], datetime]]:
    """Newest first; only ``requested_by``'s when given."""
    query = select(BatchJobRow).order_by(BatchJobRow.submitted_at.desc(), BatchJobRow.id).limit(limit)
    if requested_by is not None:
        query = query.where(BatchJobRow.requested_by == requested_by)
    return [(dict(row.job), row.heartbeat_at) for row in session.scalars(query)]
