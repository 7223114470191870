"""Connection pools: one per service, pinned to the service's schema."""

from __future__ import annotations

import json

import asyncpg


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Pool release without asyncpg's reset query (unlock advisory locks, close cursors,
    unlisten, reset settings): that query is a round trip on every release, doubling
    the cost of a one-query request. Pool connections hold no session state — leader
    locks and listeners live on dedicated connections (:func:`connect`) — and asyncpg
    still rolls back a transaction left open and drops listeners before calling this."""


async def create_pool(
    url: str, schema: str, *, min_size: int = 2, max_size: int = 20
) -> asyncpg.Pool:
    """A pool whose connections resolve unqualified names in ``schema`` first."""
    return await asyncpg.create_pool(
        url,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        reset=_keep_session,
        server_settings={"search_path": schema, "application_name": f"dealtrail-{schema}"},
    )


async def connect(url: str, schema: str) -> asyncpg.Connection:
    """A single connection configured like the pool's (listeners, leader locks)."""
    conn = await asyncpg.connect(
        url, server_settings={"search_path": schema, "application_name": f"dealtrail-{schema}"}
    )
    await _init_connection(conn)
    return conn
