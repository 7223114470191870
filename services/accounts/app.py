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
DEAL_VALUES = "deal_values"

# Stream type → aggregate, for `dealtrail replay` (contacts fold with personal data locked).
AGGREGATES: dict[str, Aggregate] = _AGGREGATES


async def _start_keys(runtime: Runtime) -> None:
    # No cache in front of the key table: a destroyed key stops working everywhere at once.
    runtime.extras[KEYS] = KeyStore(runtime.pool, runtime.settings.master_key_bytes)


async def _follow_deals(runtime: Runtime) -> None:
    """Won values follow the deals feed, one replica at a time (like the projections,
    only where ``PROJECTIONS_ENABLED``)."""
    if not runtime.settings.projections_enabled:
        return
    consumer = deal_values.consumer(runtime.settings, SCHEMA)
    runtime.extras[DEAL_VALUES] = consumer
    await consumer.start()


async def _stop_following(runtime: Runtime) -> None:
    consumer = runtime.extras.pop(DEAL_VALUES, None)
    if consumer is not None:
        await consumer.stop()


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
        on_start=[_start_keys, *([_follow_deals] if follow_deals else [])],
        on_stop=[_stop_following] if follow_deals else [],
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(service_spec(), settings)
