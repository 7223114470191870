"""Projection runner: exactly-once batches, crash recovery, rebuild, leader election."""

from __future__ import annotations

import asyncio
import time
import uuid

import asyncpg
import pytest

from shared.eventstore import EventStore, NewEvent, RecordedEvent
from shared.eventstore.notify import CoalescingNotifier
from shared.projections import (
    InjectedCrashError,
    Projection,
    ProjectionRunner,
    apply_batch,
    read_checkpoint,
    rebuild,
)

TABLES = (
    "create table type_counts (event_type text primary key, n bigint not null)",
    "create table stream_heads (stream_id text primary key, version int not null)",
)


class Counting(Projection):
    """Counts events per type and keeps each stream's last version (batched writes)."""

    name = "counting"
    tables = ("type_counts", "stream_heads")

    async def apply(self, conn: asyncpg.Connection, events: list[RecordedEvent]) -> None:
        counts: dict[str, int] = {}
        heads: dict[str, int] = {}
        for e in events:
            counts[e.type] = counts.get(e.type, 0) + 1
            heads[e.stream_id] = e.version
        await conn.executemany(
            """insert into type_counts values ($1, $2)
               on conflict (event_type) do update set n = type_counts.n + excluded.n""",
            list(counts.items()),
        )
        await conn.executemany(
            """insert into stream_heads values ($1, $2)
               on conflict (stream_id) do update set version = excluded.version""",
            list(heads.items()),
        )


@pytest.fixture
async def tables(pool: asyncpg.Pool) -> None:
    for ddl in TABLES:
        await pool.execute(ddl)


async def write(store: EventStore, streams: int, per_stream: int) -> None:
    for _ in range(streams):
        s = f"s-{uuid.uuid4()}"
        await store.append(
            s, "thing", 0, [NewEvent("A" if i % 2 else "B", {"i": i}) for i in range(per_stream)]
        )


async def snapshot(pool: asyncpg.Pool) -> tuple[list, list]:
    counts = await pool.fetch("select event_type, n from type_counts order by 1")
    heads = await pool.fetch("select stream_id, version from stream_heads order by 1")
    return [tuple(r) for r in counts], [tuple(r) for r in heads]


async def test_batches_apply_once_and_advance_the_checkpoint(store, pool, tables) -> None:
    await write(store, streams=5, per_stream=4)
    projection = Counting()
    async with pool.acquire() as conn:
        assert await apply_batch(conn, store, projection, 7) == 7
        while await apply_batch(conn, store, projection, 7):
            pass
        assert await apply_batch(conn, store, projection, 7) == 0
    assert await read_checkpoint(pool, "counting") == await store.head()
    counts, heads = await snapshot(pool)
    assert counts == [("A", 10), ("B", 10)]
    assert {v for _, v in heads} == {4}


async def test_crash_after_handlers_ran_leaves_no_trace_and_resumes(
    store, pool, tables, schema, db_url
) -> None:
    await write(store, streams=10, per_stream=3)
    projection = Counting()
    async with pool.acquire() as conn:
        await apply_batch(conn, store, projection, 8)
        with pytest.raises(InjectedCrashError):
            await apply_batch(conn, store, projection, 8, crash_after_apply=True)
        # restart: a fresh runner continues from the checkpoint
        while await apply_batch(conn, store, projection, 8):
            pass
    after_crash = await snapshot(pool)

    report = await rebuild(store, db_url, schema, projection)

    assert report.events == 30
    assert await snapshot(pool) == after_crash
    assert after_crash[0] == [("A", 10), ("B", 20)]


async def test_rebuild_swaps_in_a_fresh_copy_while_writes_continue(
    store, pool, tables, schema, db_url
) -> None:
    await write(store, streams=50, per_stream=4)
    projection = Counting()
    async with pool.acquire() as conn:
        while await apply_batch(conn, store, projection, 1000):
            pass
    await pool.execute("update type_counts set n = 0")  # a damaged read model

    writer = asyncio.create_task(write(store, streams=30, per_stream=2))
    report = await rebuild(store, db_url, schema, projection, batch_size=50)
    await writer
    async with pool.acquire() as conn:
        while await apply_batch(conn, store, projection, 1000):
            pass

    counts, heads = await snapshot(pool)
    assert dict(counts) == {"A": 100 + 30, "B": 100 + 30}
    assert len(heads) == 80
    assert report.events >= 200
    leftovers = await pool.fetchval(
        "select count(*) from information_schema.schemata where schema_name like $1",
        schema + "__rebuild__%",
    )
    assert leftovers == 0


async def test_runner_wakes_within_milliseconds_of_an_append(pool, tables, schema, db_url) -> None:
    notifier = CoalescingNotifier(db_url, schema)
    store = EventStore(pool, on_append=notifier.poke)
    runner = ProjectionRunner(store, db_url, schema, [Counting()], service="test", poll_seconds=30)
    await notifier.start()
    await runner.start()
    try:
        await _until(lambda: "counting" in runner.leading)
        started = time.perf_counter()
        await store.append(f"s-{uuid.uuid4()}", "thing", 0, [NewEvent("A", {})])
        while not await pool.fetchval("select n from type_counts where event_type = 'A'"):
            await asyncio.sleep(0.001)
        # poll_seconds is 30: only the LISTEN wake-up can explain a fast apply
        assert time.perf_counter() - started < 2.0
        [status] = await runner.status()
        assert status.lag == 0 and status.leader
    finally:
        await runner.stop()
        await notifier.stop()


async def test_only_one_runner_leads_and_another_takes_over(
    store, pool, tables, schema, db_url
) -> None:
    first = ProjectionRunner(store, db_url, schema, [Counting()], service="a", leader_retry=0.1)
    second = ProjectionRunner(store, db_url, schema, [Counting()], service="b", leader_retry=0.1)
    await first.start()
    await _until(lambda: "counting" in first.leading)
    await second.start()
    try:
        await asyncio.sleep(0.5)
        assert "counting" not in second.leading
        await first.stop()
        await _until(lambda: "counting" in second.leading)
        await write(store, streams=2, per_stream=2)
        await _until_async(lambda: _count(pool), 4)
    finally:
        await second.stop()
        await first.stop()


async def _count(pool) -> int:
    return await pool.fetchval("select coalesce(sum(n), 0) from type_counts")


async def _until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


async def _until_async(fetch, expected, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while await fetch() != expected:
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)
