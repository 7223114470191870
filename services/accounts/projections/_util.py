"""Small helpers shared by the accounts read models: parsing stored event data, row folds."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from shared.eventstore import RecordedEvent

ACCOUNT, CONTACT, TOUCH = "account", "contact", "touch"


def ts(value: str | None) -> datetime | None:
    """A stored RFC 3339 timestamp ("…Z") as an aware datetime."""
    return None if value is None else datetime.fromisoformat(value)


def uid(value: str | None) -> UUID | None:
    return None if value is None else UUID(value)


def of(events: Iterable[RecordedEvent], *stream_types: str) -> list[RecordedEvent]:
    """The events of the given stream types (name claims and others are skipped)."""
    return [e for e in events if e.stream_type in stream_types]


async def load_rows(
    conn: asyncpg.Connection, select: str, key: str, ids: Iterable[Any]
) -> dict[Any, dict[str, Any]]:
    """Current rows by key, as mutable dicts, for a batch to fold its events into."""
    wanted = list(set(ids))
    if not wanted:
        return {}
    return {row[key]: dict(row) for row in await conn.fetch(select, wanted)}


async def upsert_rows(
    conn: asyncpg.Connection, upsert: str, columns: tuple[str, ...], rows: Iterable[dict]
) -> None:
    """Write folded rows back with one executemany (parameters in ``columns`` order)."""
    values = [tuple(row[c] for c in columns) for row in rows]
    if values:
        await conn.executemany(upsert, values)
