"""Repositories of monitoring runs and the window queries they read. They return domain objects only."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xai_gov.errors import InvalidInput, NotFound
from xai_gov.explain.records import ExplanationRecord
from xai_gov.monitoring.models import MonitoringReport
from xai_gov.store.orm import ExplanationRow, ModelVersionRow, MonitoringRunRow, RegisteredModelRow

#: A window holds at most this many decisions: a monitoring run reads them all into memory.
MAX_WINDOW_DECISIONS = 200_000


def version_row_id(session: Session, name: str, version: int) -> int:
    row_id = session.scalar(select(ModelVersionRow.id).join(RegisteredModelRow)
                            .where(RegisteredModelRow.name == name, ModelVersionRow.version == version))
    if row_id is None:
        raise NotFound(f"no model version {name}@{version}", code="version_not_found", field="model")
    return row_id


def window_explanations(session: Session, *, version_id: int, since: datetime | None,
                        until: datetime | None) -> list[ExplanationRecord]:
    """Every stored explanation of the version requested in [since, until), oldest first."""
    where = [ExplanationRow.model_version_id == version_id]
    if since is not None:
        where.append(ExplanationRow.requested_at >= since)
    if until is not None:
        where.append(ExplanationRow.requested_at < until)
    total = session.scalar(select(func.count()).select_from(ExplanationRow).where(*where)) or 0
    if total > MAX_WINDOW_DECISIONS:
        raise InvalidInput(f"the window holds {total:,} decisions, more than the {MAX_WINDOW_DECISIONS:,} one run "
                           "reads: choose a shorter window", code="window_too_large", field="since")
    rows = session.scalars(select(ExplanationRow.record).where(*where)
                           .order_by(ExplanationRow.requested_at, ExplanationRow.id)).all()
    return [ExplanationRecord.from_dict(dict(record)) for record in rows]


def add_run(session: Session, report: MonitoringReport, *, version_id: int, inputs_sha256: str,
            record_sha256: str) -> None:
    session.add(MonitoringRunRow(
        id=report.id, model_version_id=version_id, run_at=report.run_at, run_by=report.run_by,
        window_since=report.since, window_until=report.until, decisions=report.decisions,
        inputs_sha256=inputs_sha256, verdict=report.verdict.outcome, record=report.to_dict(),
        record_sha256=record_sha256))
    session.flush()


def get_run(session: Session, run_id: str) -> MonitoringReport:
    row = session.get(MonitoringRunRow, run_id)
    if row is None:
        raise NotFound(f"no monitoring run {run_id!r}", code="monitoring_run_not_found", field="id")
    return MonitoringReport.from_dict(dict(row.record))


def list_runs(session: Session, *, version_id: int, limit: int = 20) -> list[MonitoringReport]:
    """The version's runs, newest first."""
    rows = session.scalars(select(MonitoringRunRow).where(MonitoringRunRow.model_version_id == version_id)
                           .order_by(MonitoringRunRow.run_at.desc(), MonitoringRunRow.id).limit(limit)).all()
    return [MonitoringReport.from_dict(dict(row.record)) for row in rows]


def all_runs(session: Session) -> list[tuple[str, dict, str]]:
    """(id, record, record_sha256) of every run, for the ledger's verification."""
    rows = session.execute(select(MonitoringRunRow.id, MonitoringRunRow.record, MonitoringRunRow.record_sha256)
                           .order_by(MonitoringRunRow.run_at, MonitoringRunRow.id)).all()
    return [(row[0], dict(row[1]), row[2]) for row in rows]
