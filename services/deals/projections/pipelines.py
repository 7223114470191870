"""The catalog of admin-defined pipelines (the presets live in code), for GET /pipelines,
stall limits and the views. Each row holds the current definition as stored in the
pipeline's latest event; commands never read it (they fold the pipeline's stream)."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from services.deals import catalog
from services.deals.domain import PRESETS, Pipeline
from shared.eventstore import RecordedEvent
from shared.projections import Projection
from shared.serde import from_data

from .deal_list import StallLimits

_UPSERT = """
insert into pipelines (code, name, definition, version, defined_at, updated_at)
values ($1, $2, $3::jsonb, $4, $5, $5)
on conflict (code) do update set
    name = excluded.name, definition = excluded.definition, version = excluded.version,
    updated_at = excluded.updated_at
"""
_ALL = "select code, definition, version, defined_at, updated_at from pipelines order by code"


class PipelineCatalog(Projection):
    name = "pipelines"
    tables = ("pipelines",)

    async def apply(self, conn: asyncpg.Connection, events: list[RecordedEvent]) -> None:
        rows = [
            (
                e.data["code"],
                e.data["definition"]["name"],
                e.data["definition"],
                e.version,
                datetime.fromisoformat(e.data["at"]),
            )
            for e in events
            if e.stream_type == catalog.STREAM_TYPE
        ]
        if rows:
            await conn.executemany(_UPSERT, rows)


async def custom(pool: asyncpg.Pool) -> list[tuple[Pipeline, int]]:
    """Every admin-defined pipeline with its version, by code."""
    return [(from_data(Pipeline, r["definition"]), r["version"]) for r in await pool.fetch(_ALL)]


async def stall_limits(pool: asyncpg.Pool) -> StallLimits:
    """The stall limit of every stage that has one, presets and admin-defined pipelines."""
    pipelines = [*PRESETS.values(), *(p for p, _ in await custom(pool))]
    limits = StallLimits([], [], [])
    for p in pipelines:
        for s in p.stages:
            if s.stall_limit_days is not None:
                limits.pipelines.append(p.code)
                limits.stages.append(s.code)
                limits.days.append(s.stall_limit_days)
    return limits
