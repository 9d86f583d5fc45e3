"""The FastAPI application (``uvicorn api.main:create_app --factory``): thin routes over xai_gov."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import anyio.from_thread
from fastapi import FastAPI

import xai_gov
from api import errors, openapi, pages, redaction
from api.deps import KnownQuery
from api.middleware import GuardMiddleware, Metrics, MetricsMiddleware
from api.routes import audit, batches, explanations, health, keys, lineage, models, monitoring
from xai_gov.audit.autosign import AutoCheckpointer
from xai_gov.config import Settings
from xai_gov.errors import Unavailable
from xai_gov.policies.fair_use import RateLimiter
from xai_gov.sdk import Client


class ExplanationGate:
    """At most ``slots`` explanations compute at once (they are CPU-bound and run in worker threads, so the
    event loop, health checks and lookups stay responsive); a request that cannot get a slot within
    ``queue_seconds`` is refused with 503 rather than piling up.

    Requests wait on the event loop, in the order they came (an asyncio semaphore is first come, first
    served): a waiting request holds no worker thread, so lookups (which run in the same thread pool) never
    queue behind forty officers' waiting explanations, and no late request overtakes one that has waited
    longer. ``async with gate.waiting()`` in an async route; ``with gate.slot()`` from a sync route's
    worker thread, which waits in the same queue."""

    def __init__(self, settings: Settings) -> None:
        # With a worker pool, every worker can be busy at once (a slot's thread waits on its worker).
        self.slots = max(settings.explain_concurrency, settings.explain_workers)
        self.queue_seconds = settings.explain_queue_seconds
        self.budget_seconds = settings.explain_budget_seconds
        self._loop_semaphore: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None

    def _semaphore(self) -> asyncio.Semaphore:
        """The running event loop's (one per app in service; a test may start an app's loop more than once)."""
        loop = asyncio.get_running_loop()
        if self._loop_semaphore is None or self._loop_semaphore[0] is not loop:
            self._loop_semaphore = (loop, asyncio.Semaphore(self.slots))
        return self._loop_semaphore[1]

    async def _acquire(self) -> asyncio.Semaphore:
        semaphore = self._semaphore()
        try:
            async with asyncio.timeout(self.queue_seconds):
                await semaphore.acquire()
        except TimeoutError:
            raise Unavailable(f"every explanation slot stayed busy for {self.queue_seconds:g} s; try again",
                              code="busy") from None
        return semaphore

    @asynccontextmanager
    async def waiting(self) -> AsyncIterator[None]:
        semaphore = await self._acquire()
        try:
            yield
        finally:
            semaphore.release()

    @contextmanager
    def slot(self) -> Iterator[None]:
        semaphore = anyio.from_thread.run(self._acquire)
        try:
            yield
        finally:
            anyio.from_thread.run_sync(semaphore.release)


def create_app(settings: Settings | None = None, *, client: Client | None = None) -> FastAPI:
    settings = client.settings if client is not None else (settings or Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The policy and the reason map are validated here: a bad file stops the service at start.
        owned = client is None
        redaction.install(app.state.redaction)  # again: handlers a server configured after create_app
        app.state.client = client or Client(settings)
        # Checkpoints are signed on a schedule (every N events or M minutes) and appended to files outside
        # the database; several replicas may each sign, which only adds checkpoints.
        checkpointer = AutoCheckpointer(app.state.client.audit, poll_seconds=settings.checkpoint_poll_seconds)
        if settings.checkpoint_auto:
            checkpointer.start()
        app.state.checkpointer = checkpointer
        try:
            explanations = app.state.client.explanations
            if owned and explanations.pool is not None:  # its workers start now, with the aliased versions built
                await asyncio.to_thread(lambda: explanations.pool.start(explanations.aliased_versions()))
            yield
        finally:
            checkpointer.stop()
            if owned:
                app.state.client.close()

    app = FastAPI(title="xai-gov", version=xai_gov.__version__, lifespan=lifespan, docs_url=None,
                  description="Explainability and model governance for credit decisions. Authenticate with "
                              "`Authorization: Bearer <key>`; each key has one role: officer, auditor, owner, "
                              "admin. Errors are RFC 9457 problem+json with a stable `code`.")
    if client is not None:  # available before startup too (test clients that skip the lifespan)
        app.state.client = client
    app.state.redaction = redaction.install()  # no secret in the access, error or API logs
    app.state.metrics = Metrics()
    app.state.gate = ExplanationGate(settings)
    app.state.rate_limiter = RateLimiter(settings.rate_limit_per_minute)  # per API key, 429 beyond it
    errors.install(app)
    for router in (health.router, models.router, explanations.router, batches.router, lineage.router, audit.router,
                   keys.router, monitoring.router):
        app.include_router(router, dependencies=[KnownQuery])
    pages.install(app)  # /ui, and /docs with Swagger UI's assets from the package (offline)
    openapi.install(app)  # every error status of every operation, as problem+json
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    app.add_middleware(GuardMiddleware, max_body_bytes=settings.max_body_bytes)
    return app
