"""Wiring of the accounts service: routes, read models, error mapping, the key store."""

from __future__ import annotations

from fastapi import FastAPI

from services.accounts.api import ROUTERS
from services.accounts.api.deps import KEYS
from services.accounts.api.errors import EXCEPTION_HANDLERS
from services.accounts.handlers import AGGREGATES as _AGGREGATES
from services.accounts.projections import all_projections, deal_values
from shared.aggregates import Aggregate
from shared.eventstore.crypto import KeyStore
from shared.feed import FeedConsumer
from shared.http.service import Runtime, ServiceSpec, create_service_app
from shared.settings import Settings

DESCRIPTION = """Accounts (大客户), contacts and their buying roles, contact touches.

Every change is an immutable event; `GET /events` is the public feed.
Errors are `application/problem+json`; commands take `If-Match` and
`Idempotency-Key`; authenticate with `Authorization: Bearer <token>`.
Contact personal details are encrypted per contact and erasable
(`DELETE /contacts/{id}/personal-data`). Won contract values follow the deals
service's feed (`GET /views/accounts`).
"""

SCHEMA = "accounts"

# Stream type → aggregate, for `dealtrail replay` (contacts fold with personal data locked).
AGGREGATES: dict[str, Aggregate] = _AGGREGATES


async def _start_keys(runtime: Runtime) -> None:
    # No cache in front of the key table: a destroyed key stops working everywhere at once.
    runtime.extras[KEYS] = KeyStore(runtime.pool, runtime.settings.master_key_bytes)


def _feeds(settings: Settings, schema: str) -> list[FeedConsumer]:
    """The won values follow the deals feed."""
    return [deal_values.consumer(settings, schema)]


def service_spec(*, follow_deals: bool = True) -> ServiceSpec:
    """The accounts service; ``follow_deals=False`` leaves the won values to the caller
    (tests that fill them themselves)."""
    return ServiceSpec(
        name="accounts",
        schema=SCHEMA,
        title="dealtrail accounts",
        description=DESCRIPTION,
        routers=ROUTERS,
        projections=all_projections,
        exception_handlers=EXCEPTION_HANDLERS,
        on_start=[_start_keys],
        feeds=_feeds if follow_deals else lambda _settings, _schema: [],
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(service_spec(), settings)
