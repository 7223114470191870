"""Appends write only their event rows and the indexes reads need, in every schema."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from shared.db import create_pool
from shared.eventstore import EventStore, NewEvent, verify
from shared.migrate import downgrade, upgrade

LEAN = {"events_pkey", "events_stream_id_version_key", "events_feed_idx", "events_recorded_at_brin"}
BEFORE = LEAN - {"events_recorded_at_brin"} | {
    "events_event_id_key",
    "events_type_idx",
    "events_recorded_at_idx",
}


async def event_indexes(db: asyncpg.Pool | asyncpg.Connection, schema: str) -> set[str]:
    rows = await db.fetch(
        "select indexname from pg_indexes where schemaname = $1 and tablename = 'events'", schema
    )
    return {r["indexname"] for r in rows}


@pytest.mark.parametrize("service", ["accounts", "deals"])
async def test_migrated_and_installed_event_stores_index_events_alike(
    db_url: str, schema: str, unused_schema: str, service: str
) -> None:
    await upgrade(db_url, service, schema=unused_schema)
    conn = await asyncpg.connect(db_url)
    try:
        assert await event_indexes(conn, unused_schema) == LEAN
        assert await event_indexes(conn, schema) == LEAN
    finally:
        await conn.close()


async def has_streams_table(db: asyncpg.Pool, schema: str) -> bool:
    return await db.fetchval("select to_regclass($1) is not null", f"{schema}.streams")


async def test_the_migration_keeps_every_event_and_goes_back(
    db_url: str, unused_schema: str
) -> None:
    await upgrade(db_url, "deals", schema=unused_schema, revision="0011")
    pool = await create_pool(db_url, unused_schema, min_size=1, max_size=2)
    try:
        assert await event_indexes(pool, unused_schema) == BEFORE
        assert await has_streams_table(pool, unused_schema)
        start = datetime(2026, 3, 1, tzinfo=UTC)
        moments = iter(start + timedelta(hours=h) for h in range(100))
        store = EventStore(pool, clock=lambda: next(moments))
        for n in range(6):
            kind = "Opened" if n % 3 == 0 else "Noted"
            await store.append(f"s-{n % 2}", "demo", n // 2, [NewEvent(kind, {"n": n})])

        await upgrade(db_url, "deals", schema=unused_schema)

        assert await event_indexes(pool, unused_schema) == LEAN
        assert not await has_streams_table(pool, unused_schema)
        await store.append("s-1", "demo", 3, [NewEvent("Noted", {"n": 6})])
        opened = await store.read_all(types=["Opened"])
        assert [e.data["n"] for e in opened] == [0, 3]
        in_range = await pool.fetch(
            "select version from events where recorded_at >= $1 and recorded_at < $2",
            start + timedelta(hours=1),
            start + timedelta(hours=3),
        )
        assert len(in_range) == 2
        assert [e.version for e in await store.read_stream("s-1")] == [1, 2, 3, 4]
        assert (await verify(pool)).ok

        await downgrade(db_url, "deals", unused_schema, "0011")

        assert await event_indexes(pool, unused_schema) == BEFORE
        heads = await pool.fetch("select stream_id, version, last_hash from streams")
        last = {e.stream_id: e for e in await store.read_all()}
        assert {(h["stream_id"], h["version"], h["last_hash"]) for h in heads} == {
            (s, e.version, e.hash) for s, e in last.items()
        }
        assert len(await store.read_all()) == 7
    finally:
        await pool.close()
