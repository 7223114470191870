"""The service pool (shared.db.create_pool): connections come back in every case."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from shared.db import create_pool


@pytest.fixture
async def small_pool(db_url: str, schema: str):
    pool = await create_pool(db_url, schema, min_size=1, max_size=2)
    yield pool
    await pool.close()


def free_connections(pool: asyncpg.Pool) -> int:
    return pool.get_idle_size()


async def test_plain_queries_give_their_connection_back(small_pool) -> None:
    for _ in range(20):
        assert await small_pool.fetchval("select 1") == 1
    results = await asyncio.gather(*(small_pool.fetchval("select $1::int", i) for i in range(10)))
    assert results == list(range(10))
    assert free_connections(small_pool) == small_pool.get_size()


async def test_a_failed_statement_leaves_the_connection_usable(small_pool) -> None:
    with pytest.raises(asyncpg.DivisionByZeroError):
        await small_pool.fetchval("select 1 / 0")
    assert await small_pool.fetchval("select 2") == 2
    assert free_connections(small_pool) == small_pool.get_size()


async def test_a_transaction_left_open_is_rolled_back_on_release(small_pool) -> None:
    await small_pool.execute("create table if not exists pool_probe (n int)")
    conn = await small_pool.acquire()
    await conn.execute("begin")
    await conn.execute("insert into pool_probe values (1)")
    await small_pool.release(conn)

    async with small_pool.acquire() as again:
        assert not again.is_in_transaction()
    assert await small_pool.fetchval("select count(*) from pool_probe") == 0


async def test_a_cancelled_query_does_not_lose_the_connection(small_pool) -> None:
    task = asyncio.create_task(small_pool.fetchval("select pg_sleep(5)"))
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    async def settled() -> None:
        while free_connections(small_pool) < small_pool.get_size():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(settled(), 5)
    assert await small_pool.fetchval("select 3") == 3
    # Both connections can still be held at once: none leaked.
    async with small_pool.acquire() as a, small_pool.acquire() as b:
        assert await a.fetchval("select 4") == 4 and await b.fetchval("select 5") == 5


async def test_json_parameters_round_trip(small_pool) -> None:
    value = {"b": [1, "x", None, True], "a": {"big": 2**70, "f": 0.5}, "é": "\u2028"}
    assert await small_pool.fetchval("select $1::jsonb", value) == value
