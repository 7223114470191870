"""Rebuild a projection from event zero beside the live one, then swap it in.

The service keeps running: readers see the live tables until the swap, the
live runner keeps applying new events, and the swap happens in one short
transaction that holds the projection's checkpoint row, catches the copy up
to the very last event and moves the fresh tables into place.

DDL needs identifiers, which cannot be bound as parameters: names here come
from code (projection definitions and the service schema), never from users,
and are quoted with :func:`quote_ident`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import asyncpg

from shared.db import connect
from shared.embedded_pg import quote_ident
from shared.eventstore.store import EventStore
from shared.eventstore.types import Cursor
from shared.projections.base import Projection

_SET_PATH = "select set_config('search_path', $1, true)"
_LOCK_CHECKPOINT = "select 1 from checkpoints where name = $1 for update"
_ENSURE_CHECKPOINT = "insert into checkpoints (name) values ($1) on conflict do nothing"
_SAVE_CHECKPOINT = """
update checkpoints set tx_id = $2, position = $3, updated_at = now() where name = $1
"""


@dataclass(frozen=True, slots=True)
class RebuildReport:
    projection: str
    events: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


async def rebuild(
    store: EventStore,
    url: str,
    schema: str,
    projection: Projection,
    *,
    batch_size: int = 5000,
) -> RebuildReport:
    """Build ``projection`` afresh from event zero and swap it in atomically."""
    shadow = f"{schema}__rebuild__{projection.name}"[:63]
    started = time.perf_counter()
    conn = await connect(url, schema)
    try:
        await _create_shadow(conn, schema, shadow, projection.tables)
        path = f"{quote_ident(shadow)}, {quote_ident(schema)}"
        cursor, count = Cursor(), 0
        while True:
            async with conn.transaction():
                await conn.execute(_SET_PATH, path)
                events = await store.read_all(cursor, batch_size, conn=conn)
                if events:
                    await projection.apply(conn, events)
            if not events:
                break
            cursor, count = events[-1].cursor, count + len(events)
        async with conn.transaction():
            await conn.execute(_ENSURE_CHECKPOINT, projection.name)
            await conn.execute(_LOCK_CHECKPOINT, projection.name)
            await conn.execute(_SET_PATH, path)
            while events := await store.read_all(cursor, batch_size, conn=conn):
                await projection.apply(conn, events)
                cursor, count = events[-1].cursor, count + len(events)
            await _swap(conn, schema, shadow, projection.tables)
            await conn.execute(_SAVE_CHECKPOINT, projection.name, cursor.tx_id, cursor.position)
    finally:
        await conn.execute("drop schema if exists " + quote_ident(shadow) + " cascade")
        await conn.close()
    return RebuildReport(projection.name, count, time.perf_counter() - started)


async def _create_shadow(
    conn: asyncpg.Connection, schema: str, shadow: str, tables: tuple[str, ...]
) -> None:
    async with conn.transaction():
        await conn.execute("drop schema if exists " + quote_ident(shadow) + " cascade")
        await conn.execute("create schema " + quote_ident(shadow))
        for table in tables:
            await conn.execute(
                "create table "
                + _qualified(shadow, table)
                + " (like "
                + _qualified(schema, table)
                + " including all)"
            )


async def _swap(
    conn: asyncpg.Connection, schema: str, shadow: str, tables: tuple[str, ...]
) -> None:
    for table in tables:
        await conn.execute("drop table " + _qualified(schema, table))
        await conn.execute(
            "alter table " + _qualified(shadow, table) + " set schema " + quote_ident(schema)
        )


def _qualified(schema: str, table: str) -> str:
    return quote_ident(schema) + "." + quote_ident(table)
