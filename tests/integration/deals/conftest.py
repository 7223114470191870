"""A migrated database and a served deals app per test module, and small HTTP helpers.

Tests share the module's app but never each other's data: every test opens its own
deals (random ids) for its own owners and accounts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest_asyncio

from services.deals.app import service_spec
from shared.db import create_pool
from shared.http.service import create_service_app
from tests.conftest import fresh_migrated_database
from tests.support.http import make_settings, serve


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def deals_db(pg_server: str) -> AsyncIterator[str]:
    """A fresh database with both services' migrations, shared by one test module."""
    yield await fresh_migrated_database(pg_server, "deals_")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def db(deals_db: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on the deals schema, for arranging data and looking behind the API."""
    pool = await create_pool(deals_db, "deals", min_size=1, max_size=4)
    try:
        yield pool
    finally:
        await pool.close()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def client(deals_db: str) -> AsyncIterator[httpx.AsyncClient]:
    """The deals app (projections on, directory filled by the tests) over ASGI."""
    app = create_service_app(
        service_spec(follow_accounts=False),
        make_settings(deals_db, projection_poll_seconds=0.05),
    )
    async with serve(app) as http:
        yield http
