"""Storing a batch's records in groups, on a thread of its own, while the submitting process goes on.

A group is what arrives within ``wait`` seconds of its first record, at most ``size``
records; it is written in one transaction with the ledger's lock taken once
(``ExplanationService.store_many``): about 8 round trips to the database for the group
instead of about 8 per record. A record that fails its checks (its decision id was
explained meanwhile, a value the database refuses) fails alone, its error beside its row;
the others of its group are written. While a group is written, arrivals queue (at most
``2 x size``: a store slower than the workers makes the submitting loop wait, so memory
stays flat).

The caller collects what was written with ``written()`` between arrivals and ``close()``
at the end; ``close()`` writes what is still queued, so records computed before the batch
stopped (an interrupt, a job stopped) are kept. If writing fails as a whole (the database
is gone), the error is raised in the caller at its next ``put``, ``written`` or ``close``.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from types import TracebackType

from xai_gov.batch.rows import BatchRow
from xai_gov.batch.runners import Computed
from xai_gov.errors import XaiGovError
from xai_gov.explain.records import ExplanationRecord
from xai_gov.explain.service import ExplanationService

GROUP_SIZE = 50
GROUP_WAIT = 0.2  # seconds after a group's first record before it is written, however few it has

Written = tuple[BatchRow, ExplanationRecord | XaiGovError]
_Item = tuple[BatchRow, Computed]
_POLL = 0.5  # seconds between looks at a failed writer while the caller waits on a full queue


class GroupWriter:
    def __init__(self, service: ExplanationService, *, size: int = GROUP_SIZE, wait: float = GROUP_WAIT) -> None:
        self.service = service
        self.size = max(1, size)
        self.wait = wait
        self._queue: queue.Queue[_Item | None] = queue.Queue(maxsize=2 * self.size)
        self._written: list[Written] = []
        self._lock = threading.Lock()
        self._failure: BaseException | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="xai-gov-batch-writer", daemon=True)
        self._thread.start()

    def put(self, row: BatchRow, computed: Computed) -> None:
        """Queue a complete record for writing; waits while the queue is full."""
        self._offer((row, computed))

    def written(self) -> list[Written]:
        """What was written (or refused) since the last call, in arrival order."""
        self._raise_failure()
        with self._lock:
            taken, self._written = self._written, []
        return taken

    def close(self) -> list[Written]:
        """Write what is queued, stop the thread, and return what was not collected yet."""
        if not self._closed:
            self._closed = True
            self._offer(None)
            self._thread.join()
        return self.written()

    def __enter__(self) -> GroupWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if kind is None:
            self.close()
            return
        # The caller is stopping on an error of its own: keep what it computed, and let its error be the one
        # raised (a failure of the writer's own was raised to the caller already, or is an echo of it).
        with contextlib.suppress(Exception):
            self.close()

    # -- the writer thread --------------------------------------------------------------------

    def _offer(self, item: _Item | None) -> None:
        while True:
            if self._failure is not None:
                if item is None:
                    return  # the thread has stopped already
                self._raise_failure()
            try:
                self._queue.put(item, timeout=_POLL)
                return
            except queue.Full:
                continue

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    def _run(self) -> None:
        closing = False
        while not closing:
            first = self._queue.get()
            if first is None:
                return
            group, deadline = [first], time.monotonic() + self.wait
            while len(group) < self.size:
                try:
                    following = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if following is None:
                    closing = True
                    break
                group.append(following)
            try:
                outcomes = self.service.store_many([computed.record for _, computed in group],
                                                   stored=[computed.stored for _, computed in group])
            except BaseException as failure:  # the store as a whole: the caller raises it
                self._failure = failure
                return
            with self._lock:
                self._written.extend((row, outcome) for (row, _), outcome in zip(group, outcomes, strict=True))
