"""Where a batch's explanations are computed: this process, a local process pool, or a Dask cluster.

Every runner takes a ``DetachedExplainer`` (the version, its artifact, background,
reason map, policy and options) and the rows, and yields ``(row, Computed or
RowFailure)`` as results arrive (``Computed``: the record in its stored form,
built by the worker). Workers never touch the store. A row's own failure (a
feature the schema refuses, a model that raises) is a ``RowFailure`` carried back
as plain data, never an exception that stops the batch. At most ``2 x workers``
rows are in flight, so memory stays flat however long the file. Worker processes (the
pool's, Dask's) run numerical libraries on one thread each (``one_thread_per_process``); a
local pool's run at a lower CPU priority than the submitting process (``yield_to_the_service``).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Generator, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Protocol

from xai_gov.batch.rows import BatchRow
from xai_gov.config import available_cores
from xai_gov.errors import InvalidInput, Unavailable, XaiGovError
from xai_gov.explain.detached import DetachedExplainer, one_thread_per_process, yield_to_the_service
from xai_gov.explain.records import ExplanationRecord


@dataclass(frozen=True)
class RowFailure:
    line: int
    decision_id: str
    code: str
    message: str
    field: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "decision_id": self.decision_id, "code": self.code, "message": self.message,
                "field": self.field}


@dataclass(frozen=True)
class Computed:
    """A record as a worker hands it back: in the form it is stored (``ExplanationRecord.to_dict()``, its
    hash included), built by the worker, so the submitting process, which writes every record of the
    batch, only writes them."""

    stored: dict[str, Any]

    @property
    def record(self) -> ExplanationRecord:
        return ExplanationRecord.from_dict(self.stored)


Outcome = Computed | RowFailure


class Runner(Protocol):
    workers: int

    def map(self, explainer: DetachedExplainer, rows: list[BatchRow]) -> Iterator[tuple[BatchRow, Outcome]]: ...

    def close(self) -> None: ...


def explain_row(explainer: DetachedExplainer, row: BatchRow) -> Outcome:
    """One row, its failure turned into data (picklable whatever the exception)."""
    try:
        return Computed(explainer.explain(row.decision_id, row.instance).to_dict())
    except XaiGovError as error:
        return RowFailure(row.line, row.decision_id, error.code, error.message, error.field)
    except Exception as error:  # a worker must answer for its row, not die with it
        return RowFailure(row.line, row.decision_id, "model_failed", f"{type(error).__name__}: {error}")


class SerialRunner:
    """In this process, one row at a time: the baseline, and what a one-core machine does."""

    workers = 1

    def map(self, explainer: DetachedExplainer, rows: list[BatchRow]) -> Iterator[tuple[BatchRow, Outcome]]:
        for row in rows:
            yield row, explain_row(explainer, row)

    def close(self) -> None:
        return None


# -- a local process pool ------------------------------------------------------------------

_INSTALLED: DetachedExplainer | None = None


def _install(explainer: DetachedExplainer) -> None:
    global _INSTALLED
    one_thread_per_process()
    yield_to_the_service()  # the submitting process writes every record: it must not wait for a core
    _INSTALLED = explainer


def _explain_installed(row: BatchRow) -> Outcome:
    assert _INSTALLED is not None, "the pool's initializer installs the explainer"
    return explain_row(_INSTALLED, row)


class PoolRunner:
    """Worker processes on this machine (spawned, so no lock or connection is inherited); each builds the
    version's explainers once, from the explainer sent to it when it starts."""

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise InvalidInput("a pool needs at least one worker", field="workers")
        self.workers = workers

    def map(self, explainer: DetachedExplainer, rows: list[BatchRow]) -> Iterator[tuple[BatchRow, Outcome]]:
        """When a worker dies (killed, out of memory) the pool is replaced; the rows that were in flight are
        then retried one at a time, so only a row that kills its worker again fails (``worker_died``)."""
        remaining, restarts = list(rows), 0
        while remaining:
            if restarts > MAX_POOL_RESTARTS:
                for row in remaining:
                    yield row, RowFailure(row.line, row.decision_id, "worker_died",
                                          f"not run: the pool's workers died {restarts} times in this batch")
                return
            with self._pool(explainer) as pool:
                in_flight, remaining = yield from _windowed(
                    remaining, lambda row, pool=pool: pool.submit(_explain_installed, row), 2 * self.workers)
            for row in in_flight:
                yield row, self._alone(explainer, row)
            restarts += bool(in_flight)

    def _pool(self, explainer: DetachedExplainer, workers: int | None = None) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=workers or self.workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_install, initargs=(explainer,))

    def _alone(self, explainer: DetachedExplainer, row: BatchRow) -> Outcome:
        """One row on a worker of its own: if that worker dies, this row is the one that kills it."""
        with self._pool(explainer, workers=1) as pool:
            try:
                return pool.submit(_explain_installed, row).result()
            except BrokenProcessPool:
                return RowFailure(row.line, row.decision_id, "worker_died",
                                  "the worker process explaining this row died (killed or out of memory), "
                                  "also when the row was retried alone")

    def close(self) -> None:
        return None


MAX_POOL_RESTARTS = 3


def _windowed(rows: list[BatchRow], submit: Any,
              window: int) -> Generator[tuple[BatchRow, Outcome], None, tuple[list[BatchRow], list[BatchRow]]]:
    """Keep ``window`` rows in flight and yield their outcomes. If the pool breaks, returns the rows that
    were in flight (their outcome unknown) and the rows never submitted; else ([], [])."""
    pending: dict[Future[Outcome], BatchRow] = {}
    queue = iter(rows)
    for row in queue:
        pending[submit(row)] = row
        if len(pending) >= window:
            break
    in_flight: list[BatchRow] = []
    while pending:
        finished, _ = wait(pending, return_when=FIRST_COMPLETED)
        for future in finished:
            row = pending.pop(future)
            try:
                outcome = future.result()
            except BrokenProcessPool:
                in_flight.append(row)
                continue
            yield row, outcome
            if not in_flight:
                following = next(queue, None)
                if following is not None:
                    pending[submit(following)] = following
    return (sorted(in_flight, key=lambda r: r.line), list(queue)) if in_flight else ([], [])


# -- Dask ------------------------------------------------------------------------------------


def explain_row_on_dask(explainer: DetachedExplainer, row: BatchRow) -> Outcome:
    """``explain_row`` on a Dask worker: each of its task threads explains a row, so numerical libraries
    get one thread there too."""
    one_thread_per_process()
    return explain_row(explainer, row)


class DaskRunner:
    """A Dask cluster: an existing scheduler (``tcp://host:8786``) or a LocalCluster of process workers.

    The explainer is scattered to every worker once; each worker builds the version's explainers once (a
    per-process cache in ``xai_gov.explain.detached``) and returns records to this process, which stores them.
    """

    def __init__(self, *, scheduler: str | None = None, local_workers: int | None = None,
                 connect_timeout: float = 10.0) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:
            raise InvalidInput("Dask is not installed: pip install 'xai-gov[dask]'", field="scheduler") from exc
        if (scheduler is None) == (local_workers is None):
            raise InvalidInput("give a scheduler address or a number of local Dask workers, not both",
                               field="scheduler")
        self.cluster = None
        if scheduler is not None:
            try:
                self.client = Client(scheduler, timeout=connect_timeout)
            except (OSError, TimeoutError) as exc:
                raise Unavailable(f"the Dask scheduler at {scheduler} did not answer within {connect_timeout:g} s: "
                                  f"{exc}", code="scheduler_unreachable", field="scheduler") from exc
        else:
            if local_workers is None or local_workers < 1:
                raise InvalidInput("a local Dask cluster needs at least one worker", field="dask_local")
            # Every port free (0), never Dask's defaults: the scheduler's HTTP server otherwise takes 8787 even
            # without a dashboard, and a second cluster on the machine (another run, a second suite) got
            # "Port 8787 is already in use".
            self.cluster = LocalCluster(n_workers=local_workers, threads_per_worker=1, processes=True,
                                        host="127.0.0.1", scheduler_port=0, dashboard_address=None,
                                        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})
            self.client = Client(self.cluster)
        self.workers = max(1, len(self.client.scheduler_info().get("workers", {})))

    def map(self, explainer: DetachedExplainer, rows: list[BatchRow]) -> Iterator[tuple[BatchRow, Outcome]]:
        shared = self.client.scatter(explainer, broadcast=True, hash=False)
        try:
            yield from self._map_rows(shared, rows)
        finally:  # let the cluster drop the explainer now, not complain that closing it lost the data
            self.client.cancel(shared)

    def _map_rows(self, shared: Any, rows: list[BatchRow]) -> Iterator[tuple[BatchRow, Outcome]]:
        from distributed import as_completed

        window = 2 * self.workers
        queue = iter(rows)
        futures = {}
        for row in queue:
            futures[self.client.submit(explain_row_on_dask, shared, row, pure=False)] = row
            if len(futures) >= window:
                break
        completed = as_completed(list(futures))
        for future in completed:
            row = futures.pop(future)
            try:
                yield row, future.result()
            except Exception as error:  # the worker itself was lost
                yield row, RowFailure(row.line, row.decision_id, "worker_died", f"the Dask worker failed: {error}")
            following = next(queue, None)
            if following is not None:
                submitted = self.client.submit(explain_row_on_dask, shared, following, pure=False)
                futures[submitted] = following
                completed.add(submitted)

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def make_runner(*, workers: int | None = None, scheduler: str | None = None,
                dask_local: int | None = None) -> Runner:
    """A Dask runner when a scheduler or a local Dask cluster is asked for; else a local pool of ``workers``
    processes (default: the number of cores), or this process alone when ``workers`` is 1."""
    if scheduler is not None or dask_local is not None:
        if workers is not None:
            raise InvalidInput("workers applies to the local pool; a Dask cluster has its own", field="workers")
        return DaskRunner(scheduler=scheduler, local_workers=dask_local)
    count = workers if workers is not None else available_cores()
    return SerialRunner() if count == 1 else PoolRunner(count)
