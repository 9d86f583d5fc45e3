"""A model space that asks a remote model few times per explanation (issue 9, item 6).

A model with a high cost per call (``ModelAdapter.remote``: a model served over
HTTP, where every call is a round trip) is asked fewer times: within
``RememberingSpace.remembering()`` (one explanation), rows already evaluated are
not sent again, and a call may carry rows a later step will ask for (queued with
``ask_ahead``, or named by the caller's ``ahead``), so that step needs no call.
The probabilities are the model's own either way; a local model (or one on the
verified fast path) is called exactly as by ``ModelSpace``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from xai_gov.explain.space import ModelSpace, unique_rows

Ahead = Callable[[], list[np.ndarray]]


@dataclass
class RememberingSpace(ModelSpace):
    """``ModelSpace`` with one explanation's memory of a remote model's answers."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self._local = threading.local()  # the memo of the explanation this thread is running

    def __getstate__(self) -> dict[str, Any]:  # the memo is one thread's, one explanation's: never copied
        state = self.__dict__.copy()
        state.pop("_local", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._local = threading.local()

    @property
    def remote(self) -> bool:
        """Whether each model call costs a round trip, so asking ahead pays (explainers may then look ahead)."""
        return not self.on_fast_path and self.adapter.remote

    @property
    def asks_ahead(self) -> bool:
        """Whether rows sent ahead are kept now: a remote model, within ``remembering()``."""
        return self._memo is not None

    @contextmanager
    def remembering(self) -> Iterator[None]:
        """One explanation's scope: for a remote model, each distinct row is sent at most once in it."""
        if not self.remote or self._memo is not None:
            yield
            return
        self._local.memo = _Memo()
        try:
            yield
        finally:
            self._local.memo = None

    @property
    def _memo(self) -> _Memo | None:
        memo: _Memo | None = getattr(self._local, "memo", None)
        return memo

    def ask_ahead(self, *matrices: np.ndarray) -> None:
        """Rows a later step will ask for: within ``remembering()``, sent with the next call that is needed
        anyway; otherwise nothing happens."""
        if self._memo is not None:
            self._memo.queued.extend(m for m in matrices if len(m))

    def predict(self, matrix: np.ndarray, *, ahead: Ahead | None = None) -> np.ndarray:
        """``ModelSpace.predict``; within ``remembering()``, rows already answered are not sent again, and a
        call that is needed carries the queued rows and ``ahead()``'s (rows a later step may ask for)."""
        memo = self._memo
        if memo is None:
            return super().predict(matrix)
        matrix = self.schema.canonical(matrix)
        unique, inverse = unique_rows(matrix)
        keys = [row.tobytes() for row in unique]
        missing = [i for i, key in enumerate(keys) if key not in memo.index]
        if missing:
            send = unique[missing]
            extra = [*memo.queued, *(rows for rows in (ahead() if ahead is not None else []) if len(rows))]
            memo.queued = []
            if extra:
                more, _ = unique_rows(self.schema.canonical(np.vstack(extra)))
                asked = set(keys)
                fresh = [not (row.tobytes() in memo.index or row.tobytes() in asked) for row in more]
                send = np.vstack([send, more[fresh]])
            rows_before = self.stats.rows
            memo.add(send, super().predict(send))  # distinct canonical rows: sent as they are
            self.stats.rows = rows_before
        self.stats.rows += len(matrix)
        return memo.get(keys)[inverse.reshape(-1)]


class _Memo:
    """The probabilities of the rows one explanation has sent, found by the rows' bytes."""

    def __init__(self) -> None:
        self.index: dict[bytes, int] = {}
        self.blocks: list[np.ndarray] = []
        self.size = 0
        self.queued: list[np.ndarray] = []  # rows to send with the next call

    def add(self, rows: np.ndarray, probabilities: np.ndarray) -> None:
        for i, row in enumerate(rows):
            self.index.setdefault(row.tobytes(), self.size + i)
        self.blocks.append(probabilities)
        self.size += len(rows)

    def get(self, keys: list[bytes]) -> np.ndarray:
        if len(self.blocks) > 1:
            self.blocks = [np.vstack(self.blocks)]
        return self.blocks[0][[self.index[key] for key in keys]]
