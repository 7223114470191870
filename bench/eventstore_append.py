"""The event store benchmark's append part: the store against a bare INSERT.

Each kind of append (plain, with an idempotency record, to a new stream each
time, through the service pool) runs in short slices alternating with the bare
INSERT of the same row into a table with nothing but a primary key, on the same
PostgreSQL, so that the machine's drift hits every kind alike.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg

from bench.common import (
    checkpoint,
    log,
    rate_for,
)
from shared.db import connect, create_pool
from shared.eventstore import EventStore, IdempotencyRecord, NewEvent

SLICE = float(os.environ.get("BENCH_SLICE", "1.5"))  # seconds per measured slice
SLICE_WARMUP = 0.3
SLICES = 3  # slices per kind of append at concurrency 1 and 8
SLICES_AT_MAX = 6  # at 32, where the targets are
WARMUP = 1.0
CONCURRENCIES = (1, 8, 32)
STREAMS_PER_TASK = 4  # round-robin, with the right expected version each time
POOL_SIZE = max(CONCURRENCIES) + 2

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

Op = Callable[[], Awaitable[Any]]

# The kinds of append measured against the bare INSERT: kind -> (stream name prefix,
# through the service pool?, with an idempotency record?, a new stream each time?).
APPENDS = {
    "store": ("s", False, False, False),
    "store_idem": ("i", False, True, False),
    "store_new": ("n", False, False, True),
    "store_new_idem": ("m", False, True, True),
    "store_pool": ("p", True, False, False),
    "store_pool_idem": ("q", True, True, False),
}
AT_TOP_ONLY = frozenset({"store_new", "store_new_idem", "store_pool", "store_pool_idem"})


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
            kinds = {"bare": [bare_op(conns[i], f"b{c}-{i}") for i in range(c)]}
            for kind, (prefix, through_pool, idempotent, new_streams) in APPENDS.items():
                if kind in AT_TOP_ONLY and c != top:
                    continue
                kinds[kind] = [
                    append_op(
                        pooled if through_pool else lanes[i],
                        f"{prefix}{c}-{i}",
                        idempotent=idempotent,
                        new_streams=new_streams,
                    )
                    for i in range(c)
                ]
            if c == top:
                kinds["bare_pool"] = [bare_op(pool, f"r{c}-{i}") for i in range(c)]
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
