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

A worker that dies (killed, out of memory) breaks the pool: the requests it was
computing are answered ``Unavailable`` (503, ``worker_died``), nothing is stored,
and the pool is replaced for the next request.
"""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from xai_gov.errors import InvalidInput, Unavailable, XaiGovError
from xai_gov.explain.detached import DetachedExplainer
from xai_gov.explain.engine import TimeBudget
from xai_gov.explain.records import ExplanationRecord


def explain_in_worker(explainer: DetachedExplainer, decision_id: str, instance: dict[str, Any], *,
                      bank_decision: str | None, reasons_asked: bool,
                      budget_seconds: float | None) -> ExplanationRecord:
    """Runs in a worker. Core errors travel back as they are (they pickle); anything else becomes a
    RuntimeError naming it, because a third-party exception may not unpickle in the service."""
    progress = TimeBudget(budget_seconds) if budget_seconds is not None else None
    try:
        return explainer.explain(decision_id, instance, progress=progress, bank_decision=bank_decision,
                                 reasons_asked=reasons_asked)
    except XaiGovError:
        raise
    except Exception as error:
        raise RuntimeError(f"{type(error).__name__}: {error}") from None


def _warm() -> int:
    """A task that only makes a worker start (imports done before the first real request)."""
    return 0


class ExplainPool:
    """``workers`` processes computing explanations; the service's threads wait on them."""

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise InvalidInput("an explanation pool needs at least one worker", field="explain_workers")
        self.workers = workers
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None

    def explain(self, explainer: DetachedExplainer, decision_id: str, instance: dict[str, Any], *,
                bank_decision: str | None = None, reasons_asked: bool = False,
                budget_seconds: float | None = None) -> ExplanationRecord:
        executor = self._current()
        try:
            future = executor.submit(explain_in_worker, explainer, decision_id, instance,
                                     bank_decision=bank_decision, reasons_asked=reasons_asked,
                                     budget_seconds=budget_seconds)
            return future.result()
        except BrokenProcessPool:
            self._replace(executor)
            raise Unavailable("the worker process computing this explanation died (killed or out of memory); "
                              "nothing was stored; try again", code="worker_died") from None

    def start(self) -> None:
        """Start every worker now rather than on the first requests (the service calls it at start-up)."""
        executor = self._current()
        for future in [executor.submit(_warm) for _ in range(self.workers)]:
            future.result()

    def close(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    def _current(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ProcessPoolExecutor(max_workers=self.workers,
                                                     mp_context=multiprocessing.get_context("spawn"))
            return self._executor

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        """Drop a broken executor once (several requests may see it break); the next request starts anew."""
        with self._lock:
            if self._executor is broken:
                self._executor = None
        broken.shutdown(wait=False, cancel_futures=True)
