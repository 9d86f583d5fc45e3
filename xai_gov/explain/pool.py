"""The service's worker pool: explanations computed in worker processes, stored by the service.

Explanations are CPU-bound Python; in one process they share one GIL, and the
explainers of a version hold seeded state, so one version's explanations ran one
at a time behind a lock. A pool of N worker processes (``explain_workers``,
spawned, so no lock or connection is inherited) computes N explanations at once:
each worker builds a version's explainers once, from a ``DetachedExplainer`` that
carries the version, its artifact's bytes and background, and keeps the last few
versions it built. The service resolves and checks the version (ledger, files)
before anything is sent, and stores the record with its ledger event when it comes
back, so nothing is written by a worker and a failure stores nothing.

Explanations are seeded per call, so a record computed in a worker is the same,
field by field, as one computed in the service (tested), and replays match.

When a worker dies (killed, out of memory), Python's executor fails every request
on the pool, not only the one that killed it. Each of those requests is then run
once more on a worker of its own: the innocent ones are answered, and only the
request that kills its worker again is answered ``Unavailable`` (503,
``worker_died``), nothing stored. The shared pool is replaced. A request that
overruns its time budget by more than ``GRACE_SECONDS`` (a model that hangs) is
answered ``explanation_over_budget`` and the pool is replaced, its processes
stopped. Workers exit when the service process dies, so none is left behind.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor, wait
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from typing import Any

from xai_gov.errors import InvalidInput, Unavailable, XaiGovError
from xai_gov.explain.detached import DetachedExplainer, one_thread_per_process, yield_to_the_service
from xai_gov.explain.engine import TimeBudget
from xai_gov.explain.records import ExplanationRecord

#: Past its deadline, a request waits this long for its worker's own 'over budget' before giving up on it.
GRACE_SECONDS = 15.0
#: ``start`` waits at most this long for every worker to be up with its versions built (then starts them again
#: without the versions, and waits as long again at most).
START_SECONDS = 120.0
STARTED_PAUSE = 0.2
log = logging.getLogger(__name__)


def explain_in_worker(explainer: DetachedExplainer, decision_id: str, instance: dict[str, Any], *,
                      bank_decision: str | None, reasons_asked: bool,
                      deadline: float | None) -> ExplanationRecord:
    """Runs in a worker. ``deadline`` is a wall-clock time (``time.time()``): time spent queued counts.
    Core errors travel back as they are (they pickle); anything else becomes a RuntimeError naming it,
    because a third-party exception may not unpickle in the service."""
    progress = TimeBudget(max(deadline - time.time(), 0.0)) if deadline is not None else None
    try:
        return explainer.explain(decision_id, instance, progress=progress, bank_decision=bank_decision,
                                 reasons_asked=reasons_asked)
    except XaiGovError:
        raise
    except Exception as error:
        raise RuntimeError(f"{type(error).__name__}: {error}") from None


def _start_worker(parent: int, versions: tuple[DetachedExplainer, ...]) -> None:
    """A worker's initializer: one thread for numerical libraries, a lower CPU priority than the service's,
    and exit when the service process is gone (killed, or stopped by uvicorn), so no worker is left running
    with its models in memory. Then it builds the explainers of ``versions`` (the ones an alias names), so
    their first requests do not wait for it; a version that fails to build is left for its requests, which
    say why."""
    one_thread_per_process()
    yield_to_the_service()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="xai-gov-parent-watch", daemon=True).start()
    for version in versions:
        try:
            version.warm()
        except Exception:  # a request for it gets the error, named; the other versions still warm
            log.warning("worker %d could not build the explainers of %s before its first request",
                        os.getpid(), version.version.ref, exc_info=True)


def _started() -> int:
    """A task that answers once its worker has started (its initializer done): the worker's process id."""
    time.sleep(STARTED_PAUSE)  # held briefly, so the next task goes to another worker rather than this one
    return os.getpid()


class ExplainPool:
    """``workers`` processes computing explanations; the service's threads wait on them."""

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise InvalidInput("an explanation pool needs at least one worker", field="explain_workers")
        self.workers = workers
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self._closed = False
        self._versions: tuple[DetachedExplainer, ...] = ()  # what each worker of the shared pool builds at start

    def explain(self, explainer: DetachedExplainer, decision_id: str, instance: dict[str, Any], *,
                bank_decision: str | None = None, reasons_asked: bool = False,
                budget_seconds: float | None = None) -> ExplanationRecord:
        deadline = time.time() + budget_seconds if budget_seconds is not None else None
        job = partial(explain_in_worker, explainer, decision_id, instance, bank_decision=bank_decision,
                      reasons_asked=reasons_asked, deadline=deadline)
        executor = self._current()
        try:
            return self._wait(executor, executor.submit(job), deadline)
        except BrokenProcessPool:
            self._replace(executor)
        # The pool broke: this request may be the one that killed it, or one that was merely in flight.
        alone = self._new_executor(1)
        try:
            return self._wait(alone, alone.submit(job), deadline)
        except BrokenProcessPool:
            raise Unavailable("the worker process computing this explanation died (killed or out of memory), "
                              "also when it ran alone; nothing was stored", code="worker_died") from None
        finally:
            _stop(alone)

    def start(self, versions: Sequence[DetachedExplainer] = ()) -> None:
        """Start every worker now rather than on the first requests (the service calls it at start-up, before it
        says ready), each with the explainers of ``versions`` built. Workers that replace a broken pool later
        build versions as requests need them. If building takes over ``START_SECONDS`` or kills a worker, the
        workers start without them."""
        with self._lock:
            self._versions = tuple(versions)
        try:
            ready = self._wait_for_workers()
        except BrokenProcessPool:  # a version's trial killed its worker
            ready = False
        if not ready:  # killed, or not done within START_SECONDS (a model that hangs): start without them
            log.error("the workers could not build the aliased versions' explainers at start (a worker died, or "
                      "took over %g s); they start without them: requests build what they need and say why "
                      "if it fails", START_SECONDS)
            with self._lock:
                self._versions = ()
                current = self._executor
            if current is not None:
                self._replace(current, stop=True)
            if not self._wait_for_workers():
                log.error("the explanation workers did not start within %g s", START_SECONDS)
        with self._lock:  # only the first pool builds them: a replacement must not hold up requests that wait
            self._versions = ()

    def _wait_for_workers(self) -> bool:
        """Whether every worker answered (its initializer done) within ``START_SECONDS``."""
        executor = self._current()
        started: set[int] = set()
        deadline = time.monotonic() + START_SECONDS
        while len(started) < self.workers:
            futures = [executor.submit(_started) for _ in range(self.workers)]
            done, pending = wait(futures, timeout=max(deadline - time.monotonic(), 0.0))
            if pending:
                return False
            started |= {future.result() for future in done}
        return True

    def close(self) -> None:
        with self._lock:
            executor, self._executor, self._closed = self._executor, None, True
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    def _wait(self, executor: ProcessPoolExecutor, future: Future[ExplanationRecord],
              deadline: float | None) -> ExplanationRecord:
        try:
            return future.result(timeout=None if deadline is None else
                                 max(deadline - time.time(), 0.0) + GRACE_SECONDS)
        except FutureTimeout:
            self._replace(executor, stop=True)  # its worker is stuck: stop the processes, not only the queue
            raise Unavailable("the explanation overran its time budget and its worker did not answer; it was "
                              "stopped and nothing was stored", code="explanation_over_budget") from None

    def _current(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._closed:
                raise Unavailable("the service is shutting down", code="shutting_down")
            if self._executor is None:
                self._executor = self._new_executor(self.workers, self._versions)
            return self._executor

    @staticmethod
    def _new_executor(workers: int, versions: tuple[DetachedExplainer, ...] = ()) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_start_worker, initargs=(os.getpid(), versions))

    def _replace(self, broken: ProcessPoolExecutor, *, stop: bool = False) -> None:
        """Drop an executor once (several requests may see it break); the next request starts a new one."""
        with self._lock:
            if self._executor is broken:
                self._executor = None
        if stop:
            _stop(broken)
        else:
            broken.shutdown(wait=False, cancel_futures=True)


def _stop(executor: ProcessPoolExecutor) -> None:
    """Shut an executor down and terminate its processes (a stuck task would otherwise keep its worker)."""
    processes = list(getattr(executor, "_processes", {}).values())  # the executor keeps them privately
    executor.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
