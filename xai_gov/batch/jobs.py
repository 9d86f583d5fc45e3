"""Batch jobs for the service: a batch submitted over the API runs in the background, with a job id and progress.

A job is ``explain_batch`` run on a background thread of the service process, one
job at a time (a bank's batch is large: two at once would only share the same
cores); later jobs wait their turn. Each row is an ordinary explanation stored
with its ledger event as it arrives (in groups of what arrives together, one
transaction each), so what a job did stays done.

Jobs live in the service's memory: a restart forgets their status, not their
work. Submitting the same decisions again resumes (decision ids already explained
are skipped), so nothing is explained twice. Who may submit or read a job is the
core's permission table (``Permission.EXPLAIN_BATCH``).
"""

from __future__ import annotations

import queue
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from xai_gov.actors import Actor
from xai_gov.auth.permissions import Permission, allowed, require
from xai_gov.batch.rows import BatchRow
from xai_gov.batch.runners import Runner
from xai_gov.batch.service import BatchProgress, BatchSummary, explain_batch
from xai_gov.errors import InvalidInput, NotFound, Unavailable, XaiGovError
from xai_gov.explain.engine import ExplainOptions
from xai_gov.explain.service import ExplanationService
from xai_gov.timeutil import format_utc, utcnow

State = Literal["queued", "running", "finished", "failed"]
KEEP_JOBS = 200  # finished jobs remembered (the oldest are forgotten first)
MAX_ROWS = 100_000  # rows in one submitted job


@dataclass(frozen=True)
class BatchJob:
    id: str
    model: str
    requested_by: str
    submitted_at: datetime
    state: State
    progress: BatchProgress
    summary: BatchSummary | None = None
    error: dict[str, Any] | None = None  # why a job failed as a whole (e.g. its model is unknown)
    started_at: datetime | None = None
    finished_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "model": self.model, "requested_by": self.requested_by, "state": self.state,
                "submitted_at": format_utc(self.submitted_at),
                "started_at": format_utc(self.started_at) if self.started_at else None,
                "finished_at": format_utc(self.finished_at) if self.finished_at else None,
                "progress": {"total": self.progress.total, "done": self.progress.done,
                             "skipped": self.progress.skipped, "failed": self.progress.failed},
                "summary": self.summary.to_dict() if self.summary else None, "error": self.error}


@dataclass
class _Entry:
    job: BatchJob
    rows: list[BatchRow] = field(repr=False)
    options: ExplainOptions = field(repr=False)


class BatchJobs:
    """The service's batch jobs: submit, read, list; one worker thread runs them in turn."""

    def __init__(self, service: ExplanationService, runner: Callable[[], Runner]) -> None:
        self.service = service
        self.runner = runner  # a fresh runner per job (a local pool by default), closed after it
        self._jobs: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    def submit(self, model: str, rows: list[BatchRow], *, options: ExplainOptions, actor: Actor) -> BatchJob:
        require(actor, Permission.EXPLAIN_BATCH)
        if self._stopping.is_set():
            raise Unavailable("the service is shutting down: submit the batch again when it is back",
                              code="shutting_down")
        if not rows:
            raise InvalidInput("a batch needs at least one decision", field="decisions")
        if len(rows) > MAX_ROWS:
            raise InvalidInput(f"a batch holds at most {MAX_ROWS:,} decisions; split the file", field="decisions")
        version = self.service.registry.get_verified(model)  # an unknown model is refused now, not later
        job = BatchJob(id=uuid.uuid4().hex, model=version.ref, requested_by=actor.name, submitted_at=utcnow(),
                       state="queued", progress=BatchProgress(total=len(rows)))
        with self._lock:
            self._jobs[job.id] = _Entry(job, rows, options)
            self._forget_old()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, name="xai-gov-batch-jobs", daemon=True)
                self._thread.start()
        self._queue.put(job.id)
        return job

    def get(self, job_id: str, *, actor: Actor) -> BatchJob:
        """A job its submitter follows (anyone who may read every explanation sees every job)."""
        require(actor, Permission.EXPLAIN_BATCH)
        with self._lock:
            entry = self._jobs.get(job_id)
        if entry is not None and not _may_see(actor, entry.job):
            entry = None  # another's job is 'not found', so its existence does not leak
        if entry is None:
            raise NotFound(f"no batch job {job_id!r} (jobs are kept in the service's memory: after a restart, "
                           "submit the batch again; what was explained is skipped)", code="job_not_found",
                           field="id")
        return entry.job

    def list(self, *, actor: Actor) -> list[BatchJob]:
        require(actor, Permission.EXPLAIN_BATCH)
        with self._lock:
            return [entry.job for entry in reversed(self._jobs.values()) if _may_see(actor, entry.job)]

    def close(self, timeout: float = 30.0) -> None:
        """Stop: the running job stops after its current rows (what was stored stays stored), queued jobs
        are marked failed without starting, and the worker thread is waited for (up to ``timeout``)."""
        self._stopping.set()
        self._queue.put(None)
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    # -- the worker thread ------------------------------------------------------------------

    def _work(self) -> None:
        while (job_id := self._queue.get()) is not None:
            with self._lock:
                entry = self._jobs.get(job_id)
            if entry is None:
                continue
            if self._stopping.is_set():
                self._update(entry, state="failed", finished_at=utcnow(), error={
                    "code": "shutting_down", "field": None,
                    "message": "the service stopped before this job started: submit it again"})
                entry.rows = []
                continue
            self._run(entry)

    def _run(self, entry: _Entry) -> None:
        self._update(entry, state="running", started_at=utcnow())
        runner = None

        def progress(counts: BatchProgress) -> None:
            self._update(entry, progress=replace(counts))
            if self._stopping.is_set():  # the service is stopping: end the job between rows
                raise Unavailable("the service stopped during this job; what was explained is stored: submit "
                                  "the same decisions again to resume", code="shutting_down")

        try:
            runner = self.runner()
            summary = explain_batch(self.service, entry.job.model, entry.rows, options=entry.options,
                                    requested_by=entry.job.requested_by, runner=runner, progress=progress)
            self._update(entry, state="finished", summary=summary, finished_at=utcnow())
        except XaiGovError as error:
            self._update(entry, state="failed", error=error.to_dict(), finished_at=utcnow())
        except Exception as error:  # a job must not take the service's worker thread down with it
            self._update(entry, state="failed", finished_at=utcnow(),
                         error={"code": "batch_failed", "message": f"{type(error).__name__}: {error}", "field": None})
        finally:
            if runner is not None:
                runner.close()
            entry.rows = []  # done with them: a finished job keeps its counts, not its applicants

    def _update(self, entry: _Entry, **changes: Any) -> None:
        with self._lock:
            entry.job = replace(entry.job, **changes)

    def _forget_old(self) -> None:
        finished = [i for i, e in self._jobs.items() if e.job.state in ("finished", "failed")]
        for job_id in finished[:max(0, len(self._jobs) - KEEP_JOBS)]:
            del self._jobs[job_id]


def _may_see(actor: Actor, job: BatchJob) -> bool:
    return job.requested_by == actor.name or allowed(actor, Permission.READ_ALL_EXPLANATIONS)
