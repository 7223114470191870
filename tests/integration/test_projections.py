"""Projection runner: exactly-once batches, crash recovery, rebuild, leader election."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid

import asyncpg
import pytest

from shared.eventstore import Cursor, EventStore, NewEvent, RecordedEvent
from shared.eventstore.notify import CoalescingNotifier, channel_for
from shared.fanout import LocalFeed, Wakeups
from shared.projections import (
    InjectedCrashError,
    Projection,
    ProjectionRunner,
    apply_batch,
    apply_events,
    read_checkpoint,
    rebuild,
)
from shared.projections.runner import RECHECKS

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


class CountingStore(EventStore):
    """An event store that counts the reads of its feed."""

    reads = 0

    async def read_all(self, *args, **kwargs):
        self.reads += 1
        return await super().read_all(*args, **kwargs)


async def test_a_wake_up_with_nothing_new_costs_a_few_looks_then_quiet(
    pool, tables, schema, db_url
) -> None:
    notifier = CoalescingNotifier(db_url, schema)
    store = CountingStore(pool, on_append=notifier.poke)
    runner = ProjectionRunner(store, db_url, schema, [Counting()], service="test", poll_seconds=30)
    await notifier.start()
    await runner.start()
    try:
        await _until(lambda: "counting" in runner.leading)
        for n in (1, 2):
            before = store.reads
            await pool.execute("select pg_notify($1, '')", channel_for(schema))
            await asyncio.sleep(0.6)
            # A few looks with growing pauses (the event may sit behind an older open
            # transaction), not one every few milliseconds.
            assert store.reads - before <= len(RECHECKS) + 1
            started = time.perf_counter()
            await store.append(f"s-{uuid.uuid4()}", "thing", 0, [NewEvent("A", {})])
            await _until_async(lambda: _count(pool), n)
            assert time.perf_counter() - started < 1.0  # poll_seconds is 30: the NOTIFY woke it
    finally:
        await runner.stop()
        await notifier.stop()


async def test_on_the_shared_feed_each_event_is_applied_once_even_across_a_rebuild(
    pool, tables, schema, db_url
) -> None:
    notifier = CoalescingNotifier(db_url, schema)
    store = EventStore(pool, on_append=notifier.poke)
    wakeups = Wakeups(db_url, schema)
    feed = LocalFeed(store, wakeups, poll_seconds=0.2)
    projection = Counting()
    runner = ProjectionRunner(
        store, db_url, schema, [projection], service="test", poll_seconds=30, feed=feed
    )
    await notifier.start()
    await wakeups.start()
    await feed.start_reading()
    await runner.start()
    try:
        await _until(lambda: "counting" in runner.leading)
        started = time.perf_counter()
        await write(store, streams=1, per_stream=1)
        await _until_async(lambda: _count(pool), 1)
        assert time.perf_counter() - started < 1.0
        await write(store, streams=20, per_stream=3)
        await _until_async(lambda: _count(pool), 61)
        # A rebuild moves the checkpoint under the runner and swaps the tables.
        writer = asyncio.create_task(write(store, streams=30, per_stream=2))
        await rebuild(store, db_url, schema, projection, batch_size=20)
        await writer
        await _until_async(lambda: _count(pool), 121)
        counts, heads = await snapshot(pool)
        assert dict(counts) == {"A": 50, "B": 71} and len(heads) == 51
        await _until_async(lambda: read_checkpoint(pool, "counting"), await store.head())
    finally:
        await runner.stop()
        await feed.stop()
        await wakeups.stop()
        await notifier.stop()


async def test_a_batch_read_beforehand_applies_only_where_the_checkpoint_still_is(
    store, pool, tables
) -> None:
    await write(store, streams=3, per_stream=2)
    events = await store.read_all(limit=100)
    projection = Counting()
    async with pool.acquire() as conn:
        await conn.execute("insert into checkpoints (name) values ('counting')")
        assert not await apply_events(conn, projection, events[1].cursor, events[2:])
        assert await snapshot(pool) == ([], [])
        assert await apply_events(conn, projection, Cursor(), events[:2])
        assert not await apply_events(conn, projection, Cursor(), events[:2])  # not twice
        assert await apply_events(conn, projection, events[1].cursor, events[2:])
    assert await read_checkpoint(pool, "counting") == events[-1].cursor
    counts, _ = await snapshot(pool)
    assert sum(n for _, n in counts) == 6


class LosingFeed:
    """A feed whose wait loses the first cancellation, as ``asyncio.wait_for`` can in
    Python 3.11 when what it waits for completes at the same moment."""

    async def follow(self, after: Cursor, *, limit: int = 500):
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.Event().wait()
        await asyncio.Event().wait()
        yield []


async def test_stopping_ends_a_projection_that_lost_its_cancellation(
    store, tables, schema, db_url
) -> None:
    runner = ProjectionRunner(store, db_url, schema, [Counting()], service="t", feed=LosingFeed())
    await runner.start()
    await _until(lambda: "counting" in runner.leading)
    started = time.perf_counter()
    await asyncio.wait_for(runner.stop(), 5)
    assert time.perf_counter() - started < 2.0 and not runner.leading
