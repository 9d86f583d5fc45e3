"""The service signs checkpoints by itself: every N events or M minutes (``CheckpointSchedule``).

A daemon thread polls the schedule every ``poll_seconds``; when a checkpoint is
due it verifies what the newest checkpoint does not vouch for (``AuditService.checkpoint``
with ``full=False``: the events since it), signs the head, records it and appends
it to the checkpoint files. A ledger that does not verify is not signed: the error
is logged and kept in ``last_error`` (and retried at the next poll).
"""

from __future__ import annotations

import logging
import threading

from xai_gov.actors import Actor, Role
from xai_gov.audit.checkpoints import Checkpoint
from xai_gov.audit.service import AuditService
from xai_gov.errors import XaiGovError

log = logging.getLogger(__name__)
SERVICE_ACTOR = Actor("xai-gov service (scheduled checkpoint)", Role.ADMIN)


class AutoCheckpointer:
    def __init__(self, audit: AuditService, *, poll_seconds: float, actor: Actor = SERVICE_ACTOR) -> None:
        self.audit = audit
        self.poll_seconds = poll_seconds
        self.actor = actor
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> Checkpoint | None:
        """Sign if due; None when not due or when signing failed (``last_error`` says why)."""
        try:
            signed = self.audit.checkpoint_if_due(actor=self.actor)
        except XaiGovError as exc:
            self.last_error = exc.message
            log.error("scheduled checkpoint not signed: %s", exc.message)
            return None
        self.last_error = None
        return signed

    def start(self) -> bool:
        """Start polling; False (and a warning) when there is no signing key to sign with."""
        if not self.audit.signing_key_path.exists():
            log.warning("no checkpoint signing key at %s: scheduled checkpoints are off (run `xai-gov init`)",
                        self.audit.signing_key_path)
            return False
        self._thread = threading.Thread(target=self._loop, name="xai-gov-checkpoints", daemon=True)
        self._thread.start()
        return True

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            self.run_once()
