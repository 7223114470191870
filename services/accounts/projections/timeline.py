"""An account's timeline: its touches and every account and contact change, newest first.

One row per event, dated by when it happened (a touch's ``occurred_at``, a
change's ``at``) and paged by (at, event id) descending. Personal details are
never copied here: a contact change only says whether they changed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from shared.eventstore import RecordedEvent
from shared.projections import BATCH_WINDOW, Projection

from ._util import ACCOUNT, CONTACT, TOUCH, of, ts

_INSERT = """
insert into timeline (event_id, account_id, at, kind, event_type, stream_id, version, actor,
                      details)
values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
on conflict (event_id) do nothing
"""
_PAGE = """
select event_id, at, kind, event_type, stream_id, version, actor, details
from timeline
where account_id = $1
  and ($2::text[] is null or kind = any($2::text[]))
  and ($3::timestamptz is null or (at, event_id) < ($3, $4::uuid))
order by at desc, event_id desc
limit $5
"""
_HIDDEN = ("account_id", "at", "personal")


class Timeline(Projection):
    name = "timeline"
    tables = ("timeline",)
    batch_window = BATCH_WINDOW

    async def apply(self, conn: asyncpg.Connection, events: list[RecordedEvent]) -> None:
        rows = [_row(e) for e in of(events, ACCOUNT, CONTACT, TOUCH)]
        if rows:
            await conn.executemany(_INSERT, rows)


def _row(event: RecordedEvent) -> tuple:
    data = event.data
    at = ts(data["occurred_at"] if event.type == "TouchLogged" else data["at"])
    details = {k: v for k, v in data.items() if k not in _HIDDEN}
    if "personal" in data:
        details["personal_changed"] = data["personal"] is not None
    actor = (event.metadata or {}).get("actor")
    return (
        event.event_id,
        UUID(data["account_id"]),
        at,
        event.stream_type,
        event.type,
        event.stream_id,
        event.version,
        actor,
        details,
    )


async def page(
    pool: asyncpg.Pool,
    account_id: UUID,
    kinds: list[str] | None,
    before: list[Any] | None,
    limit: int,
) -> tuple[list[dict[str, Any]], list[Any] | None]:
    """A page of the timeline, newest first, and the next cursor values (or None)."""
    before_at: datetime | None
    before_at, before_id = before or (None, None)
    rows = await pool.fetch(_PAGE, account_id, kinds, before_at, before_id, limit + 1)
    items = [
        {
            "id": r["event_id"],
            "at": r["at"],
            "kind": r["kind"],
            "type": r["event_type"],
            "stream_id": r["stream_id"],
            "version": r["version"],
            "actor": r["actor"],
            "details": r["details"],
        }
        for r in rows[:limit]
    ]
    more = len(rows) > limit
    return items, [rows[limit - 1]["at"], rows[limit - 1]["event_id"]] if more else None
