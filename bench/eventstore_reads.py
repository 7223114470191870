"""The event store benchmark's read part: feed read, projection rebuild, wake-up latency."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import asyncpg

from bench.common import (
    checkpoint,
    log,
    percentile,
)
from bench.eventstore_append import DATA, METADATA, STREAM_TYPE, WARMUP
from shared.db import create_pool
from shared.eventstore import START, EventStore, NewEvent, RecordedEvent
from shared.eventstore.notify import CoalescingNotifier
from shared.projections import Projection, ProjectionRunner, rebuild

FEED_EVENTS = 200_000
FEED_PAGE = 1000
FEED_PASSES = 3
LOAD_BATCH = 100  # events per append while loading the feed
LOAD_CONCURRENCY = 8

WAKE_RATE = 1000.0  # appends/s
WAKE_SECONDS = 5.0
WAKEUP_TARGET_MS = 20.0  # append-to-projection p99

# The same columns read_all returns, in plain position order.
BARE_SCAN = """
select position, tx_id, stream_id, stream_type, version, event_id, event_type,
       schema_version, data, metadata, recorded_at, hash
from events where position > $1 order by position limit $2
"""


# --- 2. feed read and 3. rebuild ---------------------------------------------------


class Counting(Projection):
    """Counts events per type and keeps each stream's last version (batched upserts)."""

    name = "counting"
    tables = ("type_counts", "stream_heads")
    ddl = (
        "create table type_counts (event_type text primary key, n bigint not null)",
        "create table stream_heads (stream_id text primary key, version int not null)",
    )

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


FEED_TYPES = ("DealOpened", "DealStageChanged", "QuoteSent", "NoteAdded", "CompetitorAdded")


async def load(store: EventStore, total: int) -> float:
    """Append ``total`` events in batches on new streams, concurrently; events/s."""
    batches = iter(range(total // LOAD_BATCH))

    async def worker() -> None:
        for b in batches:
            events = [
                NewEvent(FEED_TYPES[(b + j) % len(FEED_TYPES)], {**DATA, "seq": j})
                for j in range(LOAD_BATCH)
            ]
            await store.append(f"feed-{b}", STREAM_TYPE, 0, events, METADATA)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(LOAD_CONCURRENCY)))
    return total / (time.perf_counter() - started)


async def read_all_pass(store: EventStore) -> tuple[int, float]:
    started, count, cursor = time.perf_counter(), 0, START
    while events := await store.read_all(cursor, FEED_PAGE):
        count += len(events)
        cursor = events[-1].cursor
    return count, time.perf_counter() - started


async def bare_scan_pass(pool: asyncpg.Pool) -> tuple[int, float]:
    started, count, position = time.perf_counter(), 0, 0
    while rows := await pool.fetch(BARE_SCAN, position, FEED_PAGE):
        count += len(rows)
        position = rows[-1]["position"]
    return count, time.perf_counter() - started


async def bench_feed_and_rebuild(url: str, schema: str) -> tuple[dict, dict]:
    pool = await create_pool(url, schema, min_size=LOAD_CONCURRENCY, max_size=LOAD_CONCURRENCY)
    try:
        store = EventStore(pool)
        log(f"loading {FEED_EVENTS} events ({LOAD_BATCH} per append, {LOAD_CONCURRENCY} tasks)")
        load_rate = await load(store, FEED_EVENTS)
        log(f"loaded at {load_rate:,.0f} events/s")
        await pool.execute("vacuum analyze events")  # hint bits set, as on a settled table

        store_rates, bare_rates = [], []
        for _ in range(FEED_PASSES):  # interleaved, so drift hits both alike
            n, s = await bare_scan_pass(pool)
            assert n == FEED_EVENTS, n
            bare_rates.append(n / s)
            n, s = await read_all_pass(store)
            assert n == FEED_EVENTS, n
            store_rates.append(n / s)
        store_rate, bare_rate = max(store_rates), max(bare_rates)
        log(f"read_all {store_rate:,.0f}/s, bare keyset scan {bare_rate:,.0f}/s")
        feed = {
            "events": FEED_EVENTS,
            "page": FEED_PAGE,
            "passes": FEED_PASSES,
            "load_events_per_s": round(load_rate),
            "read_all_per_s": round(store_rate),
            "bare_keyset_scan_per_s": round(bare_rate),
            "ratio": round(store_rate / bare_rate, 3),
            "all_passes": {
                "read_all_per_s": [round(r) for r in store_rates],
                "bare_keyset_scan_per_s": [round(r) for r in bare_rates],
            },
        }

        projection = Counting()
        for ddl in projection.ddl:
            await pool.execute(ddl)
        await checkpoint(pool)
        log("rebuilding the counting projection")
        report = await rebuild(store, url, schema, projection)
        applied = await pool.fetchval("select sum(n) from type_counts")
        heads = await pool.fetchval("select count(*) from stream_heads")
        assert applied == FEED_EVENTS, applied
        log(f"rebuild {report.rate:,.0f} events/s")
        rebuilt = {
            "projection": "type counts + stream heads, executemany upserts per batch",
            "events": report.events,
            "streams": heads,
            "batch_size": 5000,
            "seconds": round(report.seconds, 3),
            "events_per_s": round(report.rate),
        }
    finally:
        await pool.close()
    return feed, rebuilt


# --- 4. wake-up latency ------------------------------------------------------------


class Latency(Projection):
    """Records, for each event, when it was applied against when it was sent."""

    name = "latency"
    tables = ("wakeups",)
    ddl = (
        "create table wakeups (event_id uuid primary key, sent float8 not null, "
        "applied float8 not null)",
    )

    def __init__(self) -> None:
        self.delays: dict[uuid.UUID, float] = {}

    async def apply(self, conn: asyncpg.Connection, events: list[RecordedEvent]) -> None:
        now = time.time()
        rows = [(e.event_id, e.data["sent"], now) for e in events]
        await conn.executemany("insert into wakeups values ($1, $2, $3)", rows)
        for e in events:
            if e.data.get("measured"):
                self.delays[e.event_id] = now - e.data["sent"]


async def drive(store: EventStore, rate: float, seconds: float, *, measured: bool) -> float:
    """Append one event per new stream at a steady ``rate``; the achieved rate."""
    total = int(rate * seconds)
    pending: set[asyncio.Task] = set()
    errors: list[BaseException] = []

    async def one() -> None:
        data = {"sent": time.time(), "measured": measured}
        await store.append(f"w-{uuid.uuid4().hex}", STREAM_TYPE, 0, [NewEvent("Ping", data)])

    def finished(task: asyncio.Task) -> None:
        pending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            errors.append(task.exception())

    started, launched = time.perf_counter(), 0
    while launched < total:
        due = min(total, int((time.perf_counter() - started) * rate) + 1)
        while launched < due:
            task = asyncio.create_task(one())
            pending.add(task)
            task.add_done_callback(finished)
            launched += 1
        await asyncio.sleep(0.001)
    await asyncio.gather(*pending, return_exceptions=True)
    if errors:
        raise errors[0]
    return total / (time.perf_counter() - started)


async def bench_wakeup(url: str, schema: str) -> dict[str, Any]:
    notifier = CoalescingNotifier(url, schema)
    pool = await create_pool(url, schema, min_size=8, max_size=16)
    store = EventStore(pool, on_append=notifier.poke)
    projection = Latency()
    for ddl in projection.ddl:
        await pool.execute(ddl)
    runner = ProjectionRunner(store, url, schema, [projection], service="bench")
    await notifier.start()
    await runner.start()
    try:
        deadline = time.monotonic() + 10
        while projection.name not in runner.leading:
            if time.monotonic() > deadline:
                raise TimeoutError("the projection runner did not take the lead")
            await asyncio.sleep(0.01)
        await checkpoint(pool)
        await drive(store, WAKE_RATE, WARMUP, measured=False)
        checkpoints_before = await checkpoints_done(pool)
        log(f"driving {WAKE_RATE:.0f} appends/s for {WAKE_SECONDS:.0f}s")
        achieved = await drive(store, WAKE_RATE, WAKE_SECONDS, measured=True)
        expected = int(WAKE_RATE * WAKE_SECONDS)
        deadline = time.monotonic() + 30
        while len(projection.delays) < expected:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {len(projection.delays)}/{expected} events applied")
            await asyncio.sleep(0.01)
        checkpoints = await checkpoints_done(pool) - checkpoints_before
    finally:
        await runner.stop()
        await notifier.stop()
        await pool.close()
    ms = sorted(d * 1000 for d in projection.delays.values())
    result = {
        "appends_per_s_target": WAKE_RATE,
        "appends_per_s_achieved": round(achieved),
        "rate_held": achieved >= 0.95 * WAKE_RATE,
        "seconds": WAKE_SECONDS,
        "events": len(ms),
        "measured": "time.time() when the projection handler ran minus time.time() "
        "stored in the event just before append was called",
        "notifier_min_interval_ms": notifier.min_interval * 1000,
        "runner_poll_fallback_s": runner.poll_seconds,
        "p50_ms": round(percentile(ms, 50), 2),
        "p95_ms": round(percentile(ms, 95), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "max_ms": round(ms[-1], 2),
        "over_target": sum(1 for d in ms if d > WAKEUP_TARGET_MS),
        "checkpoints_during": checkpoints,
    }
    log(
        f"wake-up p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms, "
        f"p99 {result['p99_ms']} ms, max {result['max_ms']} ms"
    )
    return result


async def checkpoints_done(pool: asyncpg.Pool) -> int:
    """Checkpoints the server has run so far (PostgreSQL 17+, else pg_stat_bgwriter)."""
    try:
        return await pool.fetchval("select num_timed + num_requested from pg_stat_checkpointer")
    except asyncpg.UndefinedTableError:
        return await pool.fetchval(
            "select checkpoints_timed + checkpoints_req from pg_stat_bgwriter"
        )
