"""One accounts service (real PostgreSQL, all migrations) shared by this package's tests.

Tests share the database, so each one works on accounts, names and owners of
its own (random suffixes) and never counts rows it did not create. The service
does not follow a deals service here: tests that need won deals feed them in.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest_asyncio
from fastapi import FastAPI

from services.accounts.app import service_spec
from shared.embedded_pg import quote_ident
from shared.http.service import create_service_app
from shared.migrate import upgrade_all
from tests.support.http import make_settings, serve


@pytest_asyncio.fixture(scope="package", loop_scope="session")
async def accounts_db(pg_server: str) -> str:
    """A fresh database with every migration applied, for this package."""
    if os.environ.get("TEST_DATABASE_URL"):
        conn = await asyncpg.connect(pg_server)
        try:
            for name in ("accounts", "deals"):
                await conn.execute("drop schema if exists " + quote_ident(name) + " cascade")
        finally:
            await conn.close()
        await upgrade_all(pg_server)
        return pg_server
    name = "acc_" + uuid.uuid4().hex[:10]
    conn = await asyncpg.connect(pg_server)
    try:
        await conn.execute("create database " + quote_ident(name))
    finally:
        await conn.close()
    url = pg_server.rsplit("/", 1)[0] + "/" + name
    await upgrade_all(url)
    return url


@pytest_asyncio.fixture(scope="package", loop_scope="session")
async def served(accounts_db: str) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_service_app(
        service_spec(follow_deals=False),
        make_settings(accounts_db, projection_poll_seconds=0.05),
    )
    async with serve(app) as client:
        yield app, client


@pytest_asyncio.fixture(loop_scope="session")
async def client(served: tuple[FastAPI, httpx.AsyncClient]) -> httpx.AsyncClient:
    return served[1]


@pytest_asyncio.fixture(loop_scope="session")
async def app(served: tuple[FastAPI, httpx.AsyncClient]) -> FastAPI:
    return served[0]
