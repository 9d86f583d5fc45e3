"""Batch jobs for the service: a batch submitted over the API runs in the background, with a job id and progress.

A job is ``explain_batch`` run on a background thread of the service process, one
job at a time (a bank's batch is large: two at once would only share the same
cores); later jobs wait their turn. Each row is an ordinary explanation stored
with its ledger event as it arrives (in groups of what arrives together, one
transaction each), so what a job did stays done.

A job runs in the service process that accepted it (its decisions stay in that
process's memory), but its state is kept in the store (``xai_gov.store.jobs``),
written as it moves (progress at most once a second), so every process of a
service started with several workers (``xai-gov serve --workers N``) answers for
every job. The running process refreshes its jobs' heartbeat; a queued or running
job whose heartbeat is older than ``STALE_SECONDS`` (its process was stopped or
killed) is reported failed, ``job_interrupted``. Submitting the same decisions
again resumes (decision ids already explained are skipped), so nothing is
explained twice. Who may submit or read a job is the core's permission table
(``Permission.EXPLAIN_BATCH``).
"""

from __future__ import annotations

import queue
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from xai_gov.actors import Actor
from xai_gov.auth.permissions import Permission, allowed, require
from xai_gov.batch.rows import BatchRow
from xai_gov.batch.runners import Runner
from xai_gov.batch.service import BatchProgress, explain_batch
from xai_gov.errors import InvalidInput, NotFound, Unavailable, XaiGovError
from xai_gov.explain.engine import ExplainOptions
from xai_gov.explain.service import ExplanationService
from xai_gov.store import jobs as stored_jobs
from xai_gov.timeutil import format_utc, parse_utc, utcnow

State = Literal["queued", "running", "finished", "failed"]
KEEP_JOBS = 200  # jobs listed, newest first; and finished jobs whose entry this process keeps in memory
MAX_ROWS = 100_000  # rows in one submitted job
PROGRESS_EVERY_SECONDS = 1.0  # a running job's progress is written at most this often (its states always)
#: A queued or running job whose process has not said it is alive for this long is reported interrupted.
#: The process says so at each progress write of the job it runs, for every job it holds.
STALE_SECONDS = 300.0


@dataclass(frozen=True)
class BatchJob:
    id: str
    model: str
    requested_by: str
    submitted_at: datetime
    state: State
    progress: BatchProgress
    summary: dict[str, Any] | None = None  # at the end: the batch's summary in its stored form (``to_dict``)
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
                "summary": self.summary, "error": self.error}

    @classmethod
    def from_dict(cls, stored: dict[str, Any]) -> BatchJob:
        """A job as the store keeps it."""
        def moment(key: str) -> datetime | None:
            return parse_utc(stored.get(key), field=key)

        submitted_at = moment("submitted_at")
        assert submitted_at is not None, "a stored job has its submission time"
        return cls(id=stored["id"], model=stored["model"], requested_by=stored["requested_by"],
                   submitted_at=submitted_at, state=stored["state"],
                   progress=BatchProgress(**stored["progress"]), summary=stored.get("summary"),
                   error=stored.get("error"), started_at=moment("started_at"), finished_at=moment("finished_at"))

    def as_seen(self, heartbeat_at: datetime, now: datetime) -> BatchJob:
        """This job as a reader sees it: one its process stopped holding (no heartbeat for STALE_SECONDS)
        is failed, ``job_interrupted``."""
        if self.state in ("queued", "running") and now - heartbeat_at > timedelta(seconds=STALE_SECONDS):
            return replace(self, state="failed", error={
                "code": "job_interrupted", "field": None,
                "message": f"the service process running this job stopped (no sign of it since "
                           f"{format_utc(heartbeat_at)}); what was explained is stored: submit the same "
                           "decisions again to resume"})
        return self


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
        self._save(job)
        with self._lock:
            self._jobs[job.id] = _Entry(job, rows, options)
            self._forget_old()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, name="xai-gov-batch-jobs", daemon=True)
                self._thread.start()
        self._queue.put(job.id)
        return job

    def get(self, job_id: str, *, actor: Actor) -> BatchJob:
        """A job its submitter follows (anyone who may read every explanation sees every job), from the
        store, whichever service process runs it."""
        require(actor, Permission.EXPLAIN_BATCH)
        with self.service.database.session() as session:
            found = stored_jobs.get_job(session, job_id)
        job = None if found is None else BatchJob.from_dict(found[0]).as_seen(found[1], utcnow())
        if job is None or not _may_see(actor, job):  # another's job is 'not found', so it does not leak
            raise NotFound(f"no batch job {job_id!r}", code="job_not_found", field="id")
        return job

    def list(self, *, actor: Actor) -> list[BatchJob]:
        """The newest ``KEEP_JOBS`` jobs the actor may see, newest first."""
        require(actor, Permission.EXPLAIN_BATCH)
        mine = None if allowed(actor, Permission.READ_ALL_EXPLANATIONS) else actor.name
        with self.service.database.session() as session:
            found = stored_jobs.list_jobs(session, requested_by=mine, limit=KEEP_JOBS)
        now = utcnow()
        return [BatchJob.from_dict(job).as_seen(heartbeat_at, now) for job, heartbeat_at in found]

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

        written = time.monotonic()

        def progress(counts: BatchProgress) -> None:
            nonlocal written
            if time.monotonic() - written >= PROGRESS_EVERY_SECONDS:
                self._update(entry, progress=replace(counts))
                self._heartbeat()
                written = time.monotonic()
            else:
                self._update(entry, progress=replace(counts), save=False)
            if self._stopping.is_set():  # the service is stopping: end the job between rows
                raise Unavailable("the service stopped during this job; what was explained is stored: submit "
                                  "the same decisions again to resume", code="shutting_down")

        try:
            runner = self.runner()
            summary = explain_batch(self.service, entry.job.model, entry.rows, options=entry.options,
                                    requested_by=entry.job.requested_by, runner=runner, progress=progress)
            self._update(entry, state="finished", summary=summary.to_dict(), finished_at=utcnow())
        except XaiGovError as error:
            self._update(entry, state="failed", error=error.to_dict(), finished_at=utcnow())
        except Exception as error:  # a job must not take the service's worker thread down with it
            self._update(entry, state="failed", finished_at=utcnow(),
                         error={"code": "batch_failed", "message": f"{type(error).__name__}: {error}", "field": None})
        finally:
            if runner is not None:
                runner.close()
            entry.rows = []  # done with them: a finished job keeps its counts, not its applicants

    def _update(self, entry: _Entry, *, save: bool = True, **changes: Any) -> None:
        with self._lock:
            entry.job = job = replace(entry.job, **changes)
        if save:
            self._save(job)

    def _save(self, job: BatchJob) -> None:
        with self.service.database.session() as session:
            stored_jobs.save_job(session, job.to_dict(), submitted_at=job.submitted_at, heartbeat_at=utcnow())

    def _heartbeat(self) -> None:
        """Every job this process holds (queued behind the running one) is still alive."""
        with self._lock:
            held = [job_id for job_id, e in self._jobs.items() if e.job.state in ("queued", "running")]
        with self.service.database.session() as session:
            stored_jobs.touch_jobs(session, held, heartbeat_at=utcnow())

    def _forget_old(self) -> None:
        finished = [i for i, e in self._jobs.items() if e.job.state in ("finished", "failed")]
        for job_id in finished[:max(0, len(self._jobs) - KEEP_JOBS)]:
            del self._jobs[job_id]


def _may_see(actor: Actor, job: BatchJob) -> bool:
    return job.requested_by == actor.name or allowed(actor, Permission.READ_ALL_EXPLANATIONS)
