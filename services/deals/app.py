"""Wiring of the deals service."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from services.deals.api import deals, lifecycle, pipelines, quotes
from services.deals.api.deps import STATES
from services.deals.api.errors import EXCEPTION_HANDLERS
from services.deals.api.views import views_router
from services.deals.handlers import AGGREGATES, StateCache
from services.deals.projections import deal_projections, directory
from services.deals.projections.views import view_projections
from shared.feed import FeedConsumer
from shared.http.service import Runtime, ServiceSpec, create_service_app
from shared.projections import Projection
from shared.settings import Settings

__all__ = ["AGGREGATES", "create_app", "service_spec"]

SCHEMA = "deals"
DESCRIPTION = """Deals moving through the key-account pipeline (大客户销售流程), quotes, win/loss.

Every change is an immutable event; `GET /events` is the public feed.
Errors are `application/problem+json`; commands take `If-Match` and
`Idempotency-Key`; authenticate with `Authorization: Bearer <token>`.
Money is a decimal string with an ISO 4217 currency; timestamps are RFC 3339 UTC.
"""


def _routers() -> list[APIRouter]:
    return [
        deals.router,
        lifecycle.router,
        quotes.router,
        pipelines.router,
        views_router,
    ]


def _projections(settings: Settings) -> list[Projection]:
    return [
        *deal_projections(settings),
        *view_projections(settings),
    ]


async def _keep_states(runtime: Runtime) -> None:
    """Recent deal states, reused while their stream has not moved (see StateCache)."""
    runtime.extras[STATES] = StateCache()


def _feeds(settings: Settings, schema: str) -> list[FeedConsumer]:
    """The account directory follows the accounts feed."""
    return [directory.consumer(settings, schema)]


def service_spec(*, follow_accounts: bool = True) -> ServiceSpec:
    """The deals service; ``follow_accounts=False`` leaves the directory to the caller
    (tests that fill it themselves)."""
    return ServiceSpec(
        name="deals",
        schema=SCHEMA,
        title="dealtrail deals",
        description=DESCRIPTION,
        routers=_routers(),
        projections=_projections,
        exception_handlers=dict(EXCEPTION_HANDLERS),
        on_start=[_keep_states],
        feeds=_feeds if follow_accounts else lambda _settings, _schema: [],
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(service_spec(), settings)
