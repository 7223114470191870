"""Connection pools: one per service, pinned to the service's schema."""

from __future__ import annotations

import json

import asyncpg


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def create_pool(
    url: str, schema: str, *, min_size: int = 2, max_size: int = 20
) -> asyncpg.Pool:
    """A pool whose connections resolve unqualified names in ``schema`` first."""
    return await asyncpg.create_pool(
        url,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        server_settings={"search_path": schema, "application_name": f"dealtrail-{schema}"},
    )


async def connect(url: str, schema: str) -> asyncpg.Connection:
    """A single connection configured like the pool's (listeners, leader locks)."""
    conn = await asyncpg.connect(
        url, server_settings={"search_path": schema, "application_name": f"dealtrail-{schema}"}
    )
    await _init_connection(conn)
    return conn
