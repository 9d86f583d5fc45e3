"""Running a batch: skip what is done, compute the rest on a runner, store the records in groups as they
arrive."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from xai_gov.batch.rows import BatchRow
from xai_gov.batch.runners import RowFailure, Runner
from xai_gov.batch.writer import GROUP_SIZE, GroupWriter, Written
from xai_gov.errors import Conflict, XaiGovError
from xai_gov.explain.engine import ExplainOptions
from xai_gov.explain.service import ExplanationService
from xai_gov.validation import check_instance, check_text


@dataclass
class BatchProgress:
    """Counts so far; ``total`` is every row of the file."""

    total: int
    done: int = 0
    skipped: int = 0
    failed: int = 0

    @property
    def finished(self) -> int:
        return self.done + self.skipped + self.failed


@dataclass(frozen=True)
class BatchSummary:
    model: str  # the version every record explains (an alias is pinned when the batch starts)
    total: int
    done: int
    skipped: tuple[str, ...]  # decision ids already explained (before the batch, or by another run meanwhile)
    failed: tuple[RowFailure, ...]
    seconds: float
    workers: int
    explanation_ids: tuple[str, ...] = field(default=(), repr=False)

    @property
    def rate(self) -> float:
        return self.done / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "total": self.total, "done": self.done, "skipped": len(self.skipped),
                "failed": [f.to_dict() for f in self.failed], "seconds": round(self.seconds, 3),
                "explanations_per_second": round(self.rate, 3), "workers": self.workers}


def explain_batch(service: ExplanationService, model: str, rows: list[BatchRow], *, options: ExplainOptions,
                  requested_by: str, runner: Runner, progress: Callable[[BatchProgress], None] | None = None,
                  group_size: int = GROUP_SIZE) -> BatchSummary:
    """Explain every row not yet explained, on ``runner``; records are stored with their ledger events as
    they arrive, in groups (at most ``group_size``, or what arrives within 0.2 s: one transaction each,
    ``xai_gov.batch.writer``), so what was done stays done if the batch stops, and a rerun resumes."""
    started = time.perf_counter()
    counts = BatchProgress(total=len(rows))
    failed = list(_bad_rows(rows))
    bad_lines = {f.line for f in failed}
    candidates = [row for row in rows if row.line not in bad_lines]
    already = service.explained([row.decision_id for row in candidates])
    skipped = [row.decision_id for row in candidates if row.decision_id in already]
    pending = [row for row in candidates if row.decision_id not in already]
    counts.failed, counts.skipped = len(failed), len(skipped)
    _tell(progress, counts)
    detached = service.detached(model, options=options, requested_by=requested_by)
    stored: list[str] = []

    def count(written: list[Written]) -> None:
        for row, outcome in written:
            if isinstance(outcome, Conflict):  # another run explained it meanwhile: it is done, once
                skipped.append(row.decision_id)
                counts.skipped += 1
            elif isinstance(outcome, XaiGovError):  # its record failed a check of the store: this row alone
                failed.append(RowFailure(row.line, row.decision_id, outcome.code, outcome.message, outcome.field))
                counts.failed += 1
            else:
                stored.append(outcome.id)
                counts.done += 1

    with GroupWriter(service, size=group_size) as writer:
        for row, outcome in runner.map(detached, pending):
            if isinstance(outcome, RowFailure):
                failed.append(outcome)
                counts.failed += 1
            else:
                writer.put(row, outcome)
            count(writer.written())
            _tell(progress, counts)
        count(writer.close())
    _tell(progress, counts)
    return BatchSummary(model=detached.version.ref, total=len(rows), done=counts.done, skipped=tuple(skipped),
                        failed=tuple(sorted(failed, key=lambda f: f.line)), seconds=time.perf_counter() - started,
                        workers=runner.workers, explanation_ids=tuple(stored))


def _bad_rows(rows: list[BatchRow]) -> list[RowFailure]:
    """Rows that fail before any work: no decision id, odd text or numbers, or a decision id that an earlier
    line of the file has."""
    seen: dict[str, int] = {}
    bad = []
    for row in rows:
        if not row.decision_id or len(row.decision_id) > 200:
            bad.append(RowFailure(row.line, row.decision_id, "invalid_input", "a decision id is 1 to 200 characters",
                                  "decision_id"))
            continue
        try:  # the checks a single explanation gets at the edge (control characters, numbers' magnitude)
            check_text(row.decision_id, "decision_id")
            check_instance(row.instance)
        except XaiGovError as error:
            bad.append(RowFailure(row.line, row.decision_id, error.code, error.message, error.field))
            continue
        if row.decision_id in seen:
            bad.append(RowFailure(row.line, row.decision_id, "duplicate_decision_id",
                                  f"decision id {row.decision_id!r} is also on line {seen[row.decision_id]}",
                                  "decision_id"))
        else:
            seen[row.decision_id] = row.line
    return bad


def _tell(progress: Callable[[BatchProgress], None] | None, counts: BatchProgress) -> None:
    if progress is not None:
        progress(counts)
