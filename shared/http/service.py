"""The FastAPI application both services are built from.

Wiring happens in the lifespan: settings, pool, store, the coalescing
notifier and the projection runner live on ``app.state`` and reach routes
through the ``Annotated`` dependencies below — no module globals.
"""

from __future__ import annotations

import contextlib
import gc
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

import asyncpg
import structlog
from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from shared.audit import AuditReadLogMiddleware
from shared.db import create_pool
from shared.eventstore import Cursor, EventStore, Upcasters
from shared.eventstore.notify import CoalescingNotifier
from shared.fanout import Fanout
from shared.fanout.api import subscriptions_router
from shared.fanout.sse import stream_router
from shared.feed import FeedConsumer
from shared.http.audit import audit_router
from shared.http.auth import PrincipalDep
from shared.http.pagination import page
from shared.http.problems import Problem, install_problem_handlers
from shared.http.request_id import RequestContextMiddleware
from shared.logging import configure_logging
from shared.metrics import OLDEST_XACT_AGE
from shared.projections import Projection, ProjectionRunner
from shared.settings import Settings

log = structlog.get_logger(__name__)

Hook = Callable[["Runtime"], Awaitable[Any]]

# Younger-generation collections between two full ones (Python's default: 10).
FULL_COLLECTION_EVERY = 100


@dataclass
class Runtime:
    """What a running service holds: settings, pool, store, runner, extras."""

    settings: Settings
    pool: asyncpg.Pool
    store: EventStore
    notifier: CoalescingNotifier
    runner: ProjectionRunner | None
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass
class ServiceSpec:
    """What makes a service: its name, schema, routes, projections and hooks."""

    name: str
    schema: str
    title: str
    description: str
    routers: list[APIRouter] = field(default_factory=list)
    projections: Callable[[Settings], list[Projection]] = lambda _settings: []
    upcasters: Upcasters = field(default_factory=Upcasters)
    exception_handlers: dict[type[Exception], Any] = field(default_factory=dict)
    # Other services' feeds this one follows; like the projections, they run only
    # where PROJECTIONS_ENABLED (and one replica at a time leads each).
    feeds: Callable[[Settings, str], list[FeedConsumer]] = lambda _settings, _schema: []
    on_start: list[Hook] = field(default_factory=list)
    on_stop: list[Hook] = field(default_factory=list)


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_store(request: Request) -> EventStore:
    return request.app.state.runtime.store


StoreDep = Annotated[EventStore, Depends(get_store)]


def create_service_app(spec: ServiceSpec, settings: Settings | None = None) -> FastAPI:
    """Build one service's FastAPI app."""
    settings = settings or Settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.log_level, json=settings.log_json)
        if not settings.database_url:
            raise RuntimeError("DATABASE_URL is not set (use `dealtrail run` for the embedded one)")
        pool = await create_pool(
            settings.database_url,
            spec.schema,
            min_size=settings.db_pool_min,
            max_size=settings.db_pool_max,
        )
        notifier = CoalescingNotifier(settings.database_url, spec.schema)
        store = EventStore(pool, upcasters=spec.upcasters, on_append=notifier.poke)
        fanout = Fanout(settings, store, service=spec.name, schema=spec.schema)
        runner = None
        projections = spec.projections(settings)
        if projections:
            runner = ProjectionRunner(
                store,
                settings.database_url,
                spec.schema,
                projections,
                service=spec.name,
                batch_size=settings.projection_batch_size,
                poll_seconds=settings.projection_poll_seconds,
                feed=fanout.feed,  # one reader of the feed per process
            )
        runtime = Runtime(settings, pool, store, notifier, runner)
        app.state.runtime = runtime
        await notifier.start()
        runtime.extras["fanout"] = fanout
        await fanout.start()
        feeds = spec.feeds(settings, spec.schema) if settings.projections_enabled else []
        if runner is not None and settings.projections_enabled:
            await runner.start()
        for feed in feeds:
            await feed.start()
        for hook in spec.on_start:
            await hook(runtime)
        # The cyclic collector's full passes scan every tracked object: what start-up
        # built (modules, routes, schemas) and the long-lived caches (recent deal
        # states, the feed window). Under load they came every few seconds and took
        # tens of milliseconds each, in the middle of requests. Start-up objects are
        # frozen out of them, and they run a tenth as often (reference counting frees
        # nearly everything here; cycles are rare).
        gc.freeze()
        thresholds = gc.get_threshold()
        gc.set_threshold(thresholds[0], thresholds[1], FULL_COLLECTION_EVERY)
        log.info("service.started", service=spec.name)
        try:
            yield
        finally:
            for hook in reversed(spec.on_stop):
                await hook(runtime)
            for feed in feeds:
                await feed.stop()
            if runner is not None:
                await runner.stop()
            await fanout.stop()
            await notifier.stop()
            await pool.close()
            gc.set_threshold(*thresholds)
            gc.unfreeze()
            log.info("service.stopped", service=spec.name)

    app = FastAPI(
        title=spec.title,
        description=spec.description,
        version="0.1.0",
        lifespan=lifespan,
        responses={
            "default": {
                "description": "An RFC 9457 problem document",
                "content": {"application/problem+json": {}},
            }
        },
    )
    app.state.settings = settings
    app.state.service_name = spec.name
    app.add_middleware(AuditReadLogMiddleware)  # inside the request id middleware
    app.add_middleware(RequestContextMiddleware, service=spec.name)
    install_problem_handlers(app, spec.exception_handlers)
    # The service's own routes first: a request is matched against the routes in this
    # order, and the busy ones (commands, reads) are the service's.
    for router in spec.routers:
        app.include_router(router)
    app.include_router(operations_router())
    app.include_router(feed_router())
    app.include_router(stream_router())
    app.include_router(subscriptions_router())
    app.include_router(audit_router())
    return app


def operations_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="Liveness")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="Readiness: database reachable, projections caught up")
    async def readyz(runtime: RuntimeDep) -> Response:
        settings = runtime.settings
        checks: dict[str, Any] = {}
        ready = True
        try:
            await runtime.pool.fetchval("select 1")
            checks["database"] = "ok"
            xact_age = await runtime.store.oldest_transaction_age()
            checks["oldest_transaction_age"] = xact_age
            OLDEST_XACT_AGE.labels(runtime.notifier.schema).set(xact_age)
            if xact_age > settings.readyz_max_xmin_age:
                ready = False
            if runtime.runner is not None:
                statuses = await runtime.runner.status(cap=settings.readyz_max_lag_events + 1)
                checks["projections"] = {
                    s.name: {"lag": s.lag, "leader_here": s.leader} for s in statuses
                }
                if any(s.lag > settings.readyz_max_lag_events for s in statuses):
                    ready = False
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            checks["database"] = f"unreachable: {type(exc).__name__}"
            ready = False
        if not ready:
            raise Problem(503, "not-ready", "Not ready", "See 'checks'.", checks=checks)
        return Response(
            content=json.dumps({"status": "ready", "checks": checks}), media_type="application/json"
        )

    @router.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def metrics(runtime: RuntimeDep) -> Response:
        with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            OLDEST_XACT_AGE.labels(runtime.notifier.schema).set(
                await runtime.store.oldest_transaction_age()
            )
            if runtime.runner is not None:
                await runtime.runner.status()
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


FEED_DESCRIPTION = """The public, ordered, resumable event feed.

Guarantees: events come in commit order (transaction id, then position);
an event appears only once every transaction that began before it has ended,
so a reader that resumes from the last cursor it received never skips an
event; delivery is at-least-once for a client that resumes from its last
stored cursor (store the cursor after processing). Cursors are opaque.
"""


def feed_router() -> APIRouter:
    router = APIRouter(tags=["events"])

    @router.get("/events", summary="The event feed", description=FEED_DESCRIPTION)
    async def events(
        request: Request,
        principal: PrincipalDep,
        store: StoreDep,
        after: Annotated[str | None, Query(description="cursor from a previous page")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        type: Annotated[list[str] | None, Query(description="event types to include")] = None,
        stream: Annotated[str | None, Query(max_length=200)] = None,
    ) -> dict[str, Any]:
        cursor = Cursor.decode(after)
        batch = await store.read_all(cursor, limit, types=type, stream_id=stream)
        last = batch[-1].cursor.encode() if batch else (after or Cursor().encode())
        return page([e.to_public() for e in batch], request, last, param="after")

    return router
