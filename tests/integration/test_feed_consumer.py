"""Following another service's feed over real HTTP, across restarts of either side."""

from __future__ import annotations

import asyncio
import time
import uuid

import asyncpg
import pytest

from shared.eventstore.feed_schema import FEED_CHECKPOINTS_DDL
from shared.feed import FeedConsumer
from shared.http.auth import issue_token
from shared.http.service import create_service_app
from tests.support.counter import counter_spec
from tests.support.http import TEST_SECRET, auth, make_settings
from tests.support.live import LiveServer


@pytest.fixture
async def local_schema(db_url):
    """The consumer's side: its checkpoint table and a table of applied events."""
    name = "c_" + uuid.uuid4().hex[:10]
    conn = await asyncpg.connect(db_url)
    await conn.execute(f'create schema "{name}"')
    await conn.execute(f'set search_path to "{name}"')
    await conn.execute(FEED_CHECKPOINTS_DDL)
    # primary key: applying an event twice would fail loudly
    await conn.execute("create table applied (event_id uuid primary key, stream_id text)")
    await conn.close()
    return name


async def apply(conn: asyncpg.Connection, events: list[dict]) -> None:
    await conn.executemany(
        "insert into applied values ($1, $2)",
        [(uuid.UUID(e["id"]), e["stream_id"]) for e in events],
    )


async def test_consumer_resumes_after_either_side_restarts(db_url, schema, local_schema) -> None:
    server = LiveServer(lambda: create_service_app(counter_spec(schema), make_settings(db_url)))
    await server.start()
    import httpx

    def make_consumer() -> FeedConsumer:
        return FeedConsumer(
            "counters",
            server.url,
            db_url,
            local_schema,
            apply,
            token=lambda: issue_token(TEST_SECRET, "svc-test", "service"),
            limit=7,
            idle_poll=0.02,
            max_backoff=0.3,
        )

    async with httpx.AsyncClient(base_url=server.url) as http:

        async def create(n: int) -> None:
            for _ in range(n):
                r = await http.post(f"/counters/c-{uuid.uuid4().hex[:8]}", headers=auth())
                assert r.status_code == 201

        consumer = make_consumer()
        await consumer.start()
        await create(20)
        await consumer.stop()  # the consumer side restarts mid-stream
        await create(10)
        consumer = make_consumer()
        await consumer.start()
        await create(5)

        await server.stop()  # the other side goes down; the consumer retries
        await asyncio.sleep(0.5)
        await server.start()
        await create(15)

    try:
        await _until_applied(db_url, local_schema, 50)
    finally:
        await consumer.stop()
        await server.stop()

    conn = await asyncpg.connect(db_url)
    try:
        expected = await conn.fetchval(f'select count(*) from "{schema}".events')
        applied = await conn.fetchval(f'select count(*) from "{local_schema}".applied')
    finally:
        await conn.close()
    assert expected == applied == 50


async def _until_applied(db_url: str, local_schema: str, n: int, timeout: float = 20.0) -> None:
    conn = await asyncpg.connect(db_url)
    try:
        deadline = time.monotonic() + timeout
        while await conn.fetchval(f'select count(*) from "{local_schema}".applied') < n:
            assert time.monotonic() < deadline, "consumer did not catch up"
            await asyncio.sleep(0.05)
    finally:
        await conn.close()
