"""Connection pools: one per service, pinned to the service's schema."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg
import asyncpg.pool
import orjson


def encode_json(value: Any) -> str:
    """JSON text for a json/jsonb parameter: orjson, or ``json`` for what orjson refuses
    (integers beyond 64 bits, non-string keys)."""
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value)


async def _init_connection(conn: asyncpg.Connection) -> None:
    # Decoding stays with ``json``: orjson would turn integers beyond 64 bits into
    # floats, and a hash recomputed from such a value would no longer match.
    for name in ("jsonb", "json"):
        await conn.set_type_codec(
            name, encoder=encode_json, decoder=json.loads, schema="pg_catalog"
        )


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Pool release without asyncpg's reset query (unlock advisory locks, close cursors,
    unlisten, reset settings): that query is a round trip on every release, doubling
    the cost of a one-query request. Pool connections hold no session state — leader
    locks and listeners live on dedicated connections (:func:`connect`) — and asyncpg
    still rolls back a transaction left open and drops listeners before calling this."""


class Pool(asyncpg.Pool):
    """asyncpg's pool, minus a task per query when giving a connection back.

    asyncpg releases through ``asyncio.shield`` so that a caller cancelled
    mid-release still returns its connection. The shield costs a task and two
    event-loop turns per release, about a third of the client's CPU for a
    one-statement request (``bench/eventstore.py``). With :func:`_keep_session`
    as the reset, releasing a connection that is idle (no transaction to roll
    back, no cancellation in flight, not due to be closed) never suspends, so
    nothing can interrupt it and it runs inline; every other release takes
    asyncpg's shielded path unchanged.
    """

    async def release(self, connection: Any, *, timeout: float | None = None) -> None:
        holder = getattr(connection, "_holder", None)
        con = getattr(connection, "_con", None)
        if (
            type(connection) is not asyncpg.pool.PoolConnectionProxy
            or holder is None
            or holder._pool is not self
            or con is None
            or not _idle(con, holder)
        ):
            return await super().release(connection, timeout=timeout)
        self._check_init()
        con._on_release()
        await holder.release(timeout if timeout is not None else holder._timeout)


def _idle(con: asyncpg.Connection, holder: Any) -> bool:
    return (
        not con.is_closed()
        and not con.is_in_transaction()
        and con._top_xact is None
        and not con._protocol._is_cancelling()
        and con._protocol.queries_count < holder._max_queries
        and holder._generation == holder._pool._generation
        and holder._pool._reset is _keep_session
    )


async def create_pool(
    url: str, schema: str, *, min_size: int = 2, max_size: int = 20
) -> asyncpg.Pool:
    """A pool whose connections resolve unqualified names in ``schema`` first."""
    return await Pool(
        url,
        init_size=None,
        min_size=min_size,
        max_size=max_size,
        max_queries=50_000,
        max_inactive_connection_lifetime=300.0,
        connect=None,
        setup=None,
        init=_init_connection,
        reset=_keep_session,
        loop=None,
        connection_class=asyncpg.Connection,
        record_class=asyncpg.Record,
        server_settings={"search_path": schema, "application_name": f"dealtrail-{schema}"},
    )


async def connect(url: str, schema: str) -> asyncpg.Connection:
    """A single connection configured like the pool's (listeners, leader locks)."""
    conn = await asyncpg.connect(
        url, server_settings={"search_path": schema, "application_name": f"dealtrail-{schema}"}
    )
    await _init_connection(conn)
    return conn


async def close_quietly(conn: asyncpg.Connection, timeout: float = 2.0) -> None:
    """Close a dedicated connection (ending its session frees its locks and listeners),
    bounded in time: a database that is shutting down or unreachable gets the socket
    closed instead, so stopping a worker never waits on it. Errors are not raised;
    a cancellation still is."""
    if conn.is_closed():
        return
    try:
        await asyncio.shield(conn.close(timeout=timeout))
    except asyncio.CancelledError:
        conn.terminate()
        raise
    except Exception:
        conn.terminate()
