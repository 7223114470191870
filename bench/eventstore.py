"""Event store benchmark: append, feed read, rebuild and wake-up latency in one run.

Every figure comes from the same PostgreSQL in the same run, next to the
physical limit it is compared with:

* append rate through :meth:`EventStore.append` (one event per append, i.e.
  per transaction) at concurrency 1, 8 and 32, without and with an
  idempotency record, against a plain asyncpg single-row INSERT of the same
  row into a bare table that has nothing but a primary key, both on one
  dedicated connection per task (and, at 32, both through the service pool);
* feed read rate of :meth:`EventStore.read_all` (pages of 1,000) through
  200,000 events, against a bare keyset scan of the same table;
* rebuild rate of a batched projection via :func:`shared.projections.rebuild`;
* append-to-projection wake-up latency through a :class:`ProjectionRunner`
  woken by the :class:`CoalescingNotifier`, at a steady 1,000 appends/s.

Run it with ``python -m bench eventstore`` (or ``make bench`` for all).
``BENCH_SLICE`` (seconds per measured append slice, default 1.5) shortens or
lengthens the run.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg

from bench.common import (
    checkpoint,
    fresh_schema,
    log,
    percentile,
    rate_for,
    server_info,
    target,
)
from shared.db import connect, create_pool
from shared.eventstore import START, EventStore, IdempotencyRecord, NewEvent, RecordedEvent
from shared.eventstore.notify import CoalescingNotifier
from shared.projections import Projection, ProjectionRunner, rebuild

NAME = "eventstore"

SLICE = float(os.environ.get("BENCH_SLICE", "1.5"))  # seconds per measured slice
SLICE_WARMUP = 0.3
SLICES = 3  # slices per kind of append at concurrency 1 and 8
SLICES_AT_MAX = 6  # at 32, where the targets are
WARMUP = 1.0
CONCURRENCIES = (1, 8, 32)
STREAMS_PER_TASK = 4  # round-robin, with the right expected version each time
POOL_SIZE = max(CONCURRENCIES) + 2

FEED_EVENTS = 200_000
FEED_PAGE = 1000
FEED_PASSES = 3
LOAD_BATCH = 100  # events per append while loading the feed
LOAD_CONCURRENCY = 8

WAKE_RATE = 1000.0  # appends/s
WAKE_SECONDS = 5.0

TARGETS = {
    "append_c32_ratio": 0.7,
    "append_c32_idempotent_ratio": 0.6,
    "read_all_ratio": 0.8,
    "rebuild_events_per_s": 50_000,
    "wakeup_p99_ms": 20.0,
}

STREAM_TYPE = "deal"
EVENT_TYPE = "DealStageChanged"
DATA = {
    "deal_id": "d-5f1c0e7a",
    "account_id": "a-19b2",
    "from_stage": "qualification",
    "to_stage": "proposal",
    "amount": "1250000.00",
    "currency": "EUR",
    "probability": 40,
    "note": "Champion confirmed budget; procurement review next week.",
}
METADATA = {
    "actor": "u-42",
    "role": "rep",
    "request_id": "9a3c2f7e-1b0d-4e55-8f7a-2d6c1e0b9f31",
    "correlation_id": "4f6e0c1a-7d2b-4a8e-9c3f-5b1d2e7a8c90",
}

# The physical limit: the same columns, a primary key and nothing else.
BARE_DDL = """
create table bare_events (
    position        bigint generated always as identity primary key,
    stream_id       text        not null,
    stream_type     text        not null,
    version         integer     not null,
    event_id        uuid        not null,
    event_type      text        not null,
    schema_version  integer     not null,
    data            jsonb       not null,
    metadata        jsonb       not null,
    recorded_at     timestamptz not null,
    tx_id           xid8        not null default pg_current_xact_id(),
    hash            bytea       not null
)
"""
BARE_INSERT = """
insert into bare_events (stream_id, stream_type, version, event_id, event_type,
                         schema_version, data, metadata, recorded_at, hash)
values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
"""
# The same columns read_all returns, in plain position order.
BARE_SCAN = """
select position, tx_id, stream_id, stream_type, version, event_id, event_type,
       schema_version, data, metadata, recorded_at, hash
from events where position > $1 order by position limit $2
"""

Op = Callable[[], Awaitable[Any]]


async def run(url: str) -> dict[str, Any]:
    started = time.perf_counter()
    info = await server_info(url)
    log(f"PostgreSQL {info['postgres']['server_version']}, {info['cpus']} CPUs")
    async with fresh_schema(url, "bench_append") as schema:
        append = await bench_append(url, schema)
    async with fresh_schema(url, "bench_feed") as schema:
        feed, rebuilt = await bench_feed_and_rebuild(url, schema)
    async with fresh_schema(url, "bench_wake") as schema:
        wakeup = await bench_wakeup(url, schema)

    c32 = append["concurrency"][str(max(CONCURRENCIES))]
    targets = {
        "append_c32_ratio": target(c32["ratio"], TARGETS["append_c32_ratio"]),
        "append_c32_idempotent_ratio": target(
            c32["ratio_idempotent"], TARGETS["append_c32_idempotent_ratio"]
        ),
        "read_all_ratio": target(feed["ratio"], TARGETS["read_all_ratio"]),
        "rebuild_events_per_s": target(rebuilt["events_per_s"], TARGETS["rebuild_events_per_s"]),
        "wakeup_p99_ms": target(wakeup["p99_ms"], TARGETS["wakeup_p99_ms"], at_least=False),
    }
    return {
        "benchmark": NAME,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "environment": info,
        "append": append,
        "feed": feed,
        "rebuild": rebuilt,
        "wakeup": wakeup,
        "targets": targets,
        "all_targets_pass": all(t["pass"] for t in targets.values()),
        "load_average_1m_at_end": round(os.getloadavg()[0], 2),
        "elapsed_s": round(time.perf_counter() - started, 1),
    }


# --- 1. append ------------------------------------------------------------------


class RoundRobin:
    """A task's own streams, visited in turn, each with its current version."""

    def __init__(self, prefix: str, count: int) -> None:
        self.streams = [f"{prefix}-{k}" for k in range(count)]
        self.versions = [0] * count
        self.turn = 0

    def next(self) -> tuple[int, str, int]:
        k = self.turn
        self.turn = (k + 1) % len(self.streams)
        return k, self.streams[k], self.versions[k]


def _request_hash(stream_id: str, version: int) -> bytes:
    return hashlib.sha256(f"{stream_id}:{version}".encode()).digest()


def bare_op(conn: asyncpg.Connection | asyncpg.Pool, prefix: str) -> Op:
    """One plain single-row INSERT (its own transaction), normally on a dedicated connection."""
    rr = RoundRobin(prefix, STREAMS_PER_TASK)

    async def op() -> None:
        k, stream, version = rr.next()
        await conn.execute(
            BARE_INSERT,
            stream,
            STREAM_TYPE,
            version + 1,
            uuid.uuid4(),
            EVENT_TYPE,
            1,
            DATA,
            METADATA,
            datetime.now(UTC),
            _request_hash(stream, version),
        )
        rr.versions[k] = version + 1

    return op


def append_op(store: EventStore, prefix: str, *, idempotent: bool, new_streams: bool) -> Op:
    """One EventStore.append of one event, with the right expected version."""
    rr = RoundRobin(prefix, STREAMS_PER_TASK)

    async def op() -> None:
        if new_streams:
            k, stream, version = -1, f"{prefix}-{uuid.uuid4().hex}", 0
        else:
            k, stream, version = rr.next()
        record = (
            IdempotencyRecord(
                "bench",
                uuid.uuid4().hex,
                _request_hash(stream, version),
                201,
                {"stream_id": stream, "version": version + 1},
            )
            if idempotent
            else None
        )
        await store.append(
            stream,
            STREAM_TYPE,
            version,
            [NewEvent(EVENT_TYPE, DATA)],
            METADATA,
            idempotency=record,
        )
        if k >= 0:
            rr.versions[k] = version + 1

    return op


async def measure_interleaved(kinds: dict[str, list[Op]], slices: int) -> dict[str, dict[str, Any]]:
    """Rates of several kinds of operation, measured in alternating short slices.

    This machine's throughput drifts by ±20 % over tens of seconds (WAL
    segment creation, background writes), so each kind runs ``slices`` times
    for ``SLICE`` seconds in rotating order; a kind's rate is its total
    operations over its total measured time, and each slice also gives a
    ratio to the first kind (the bare INSERT) measured next to it.
    """
    names = list(kinds)
    totals = {n: [0, 0.0] for n in names}
    slice_rates: dict[str, list[float]] = {n: [] for n in names}
    for s in range(slices):
        order = names[s % len(names) :] + names[: s % len(names)]
        for name in order:
            r = await rate_for(kinds[name], duration=SLICE, warmup=SLICE_WARMUP)
            totals[name][0] += r["ops"]
            totals[name][1] += r["seconds"]
            slice_rates[name].append(r["ops"] / r["seconds"])
    base = names[0]
    out = {}
    for name in names:
        ops, seconds = totals[name]
        ratios = [a / b for a, b in zip(slice_rates[name], slice_rates[base], strict=True)]
        out[name] = {
            "rate": ops / seconds,
            "slice_rates": [round(r) for r in slice_rates[name]],
            "slice_ratio_min": round(min(ratios), 3),
            "slice_ratio_max": round(max(ratios), 3),
        }
    return out


async def bench_append(url: str, schema: str) -> dict[str, Any]:
    top = max(CONCURRENCIES)
    pool = await create_pool(url, schema, min_size=POOL_SIZE, max_size=POOL_SIZE)
    conns = [await connect(url, schema) for _ in range(top)]
    try:
        await pool.execute(BARE_DDL)
        await checkpoint(pool)
        # Like for like: the store appends on the same dedicated connections as the
        # bare INSERT (one EventStore per task); the service pool's own cost is
        # measured beside it at top concurrency.
        lanes = [EventStore(conn) for conn in conns]
        pooled = EventStore(pool)
        per_c: dict[str, Any] = {}
        for c in CONCURRENCIES:
            kinds = {
                "bare": [bare_op(conns[i], f"b{c}-{i}") for i in range(c)],
                "store": [
                    append_op(lanes[i], f"s{c}-{i}", idempotent=False, new_streams=False)
                    for i in range(c)
                ],
                "store_idem": [
                    append_op(lanes[i], f"i{c}-{i}", idempotent=True, new_streams=False)
                    for i in range(c)
                ],
            }
            if c == top:
                kinds |= {
                    "store_new": [
                        append_op(lanes[i], f"n{c}-{i}", idempotent=False, new_streams=True)
                        for i in range(c)
                    ],
                    "store_new_idem": [
                        append_op(lanes[i], f"m{c}-{i}", idempotent=True, new_streams=True)
                        for i in range(c)
                    ],
                    "store_pool": [
                        append_op(pooled, f"p{c}-{i}", idempotent=False, new_streams=False)
                        for i in range(c)
                    ],
                    "store_pool_idem": [
                        append_op(pooled, f"q{c}-{i}", idempotent=True, new_streams=False)
                        for i in range(c)
                    ],
                    "bare_pool": [bare_op(pool, f"r{c}-{i}") for i in range(c)],
                }
            slices = SLICES_AT_MAX if c == top else SLICES
            m = await measure_interleaved(kinds, slices)
            bare = m["bare"]["rate"]

            def rate(kind: str, m: dict = m, bare: float = bare) -> dict[str, Any]:
                return {"per_s": round(m[kind]["rate"]), "ratio": round(m[kind]["rate"] / bare, 3)}

            row: dict[str, Any] = {
                "bare_insert_per_s": round(bare),
                "store_per_s": round(m["store"]["rate"]),
                "store_idempotent_per_s": round(m["store_idem"]["rate"]),
                "ratio": round(m["store"]["rate"] / bare, 3),
                "ratio_idempotent": round(m["store_idem"]["rate"] / bare, 3),
            }
            if c == top:
                row["new_stream_per_append"] = {
                    "store": rate("store_new"),
                    "store_idempotent": rate("store_new_idem"),
                }
                row["through_the_service_pool"] = {
                    "store": rate("store_pool"),
                    "store_idempotent": rate("store_pool_idem"),
                    "bare_insert": rate("bare_pool"),
                }
            row["slices"] = {
                "count": slices,
                "per_slice_ratio_range": {
                    k: [v["slice_ratio_min"], v["slice_ratio_max"]]
                    for k, v in m.items()
                    if k != "bare"
                },
            }
            per_c[str(c)] = row
            log(
                f"append c={c:<2} bare {bare:7.0f}/s  store {m['store']['rate']:7.0f}/s "
                f"({row['ratio']:.2f}x)  store+idem {m['store_idem']['rate']:7.0f}/s "
                f"({row['ratio_idempotent']:.2f}x)"
            )
    finally:
        for conn in conns:
            await conn.close()
        await pool.close()
    return {
        "events_per_append": 1,
        "slice_s": SLICE,
        "slice_warmup_s": SLICE_WARMUP,
        "pool_size": POOL_SIZE,
        "workload": f"each task appends round-robin to its own {STREAMS_PER_TASK} streams "
        "with the correct expected version (new_stream_per_append: a new stream each "
        "time) through EventStore.append; the bare INSERT writes the same columns into a "
        "table with only a primary key; both on one dedicated asyncpg connection per task "
        "(through_the_service_pool: both through shared.db.create_pool instead); all "
        "kinds alternate in short slices",
        "concurrency": per_c,
    }


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
        "over_target": sum(1 for d in ms if d > TARGETS["wakeup_p99_ms"]),
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


def main() -> None:
    from bench.__main__ import main as bench_main

    raise SystemExit(bench_main([NAME]))


if __name__ == "__main__":
    main()
