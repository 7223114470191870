"""Touch activity: touches per owner (the rep who logged and had them), channel and day.

Counted per UTC day so any date range is a sum over an index range; the view
groups the days into ISO weeks (Monday first).
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

import asyncpg

from shared.eventstore import RecordedEvent
from shared.projections import BATCH_WINDOW, Projection

from ._util import TOUCH, of, ts

_ADD = """
insert into activity_daily (owner_id, day, channel, touches) values ($1, $2, $3, $4)
on conflict (owner_id, day, channel) do update
    set touches = activity_daily.touches + excluded.touches
"""
_REPORT = """
select owner_id, date_trunc('week', day)::date as week, channel, sum(touches)::bigint as touches
from activity_daily
where day between $1 and $2 and ($3::text is null or owner_id = $3)
group by owner_id, week, channel
order by owner_id, week, channel
"""


class Activity(Projection):
    name = "activity"
    tables = ("activity_daily",)
    batch_window = BATCH_WINDOW

    async def apply(self, conn: asyncpg.Connection, events: list[RecordedEvent]) -> None:
        counts: Counter[tuple[str, date, str]] = Counter()
        for event in of(events, TOUCH):
            data = event.data
            counts[(data["logged_by"], ts(data["occurred_at"]).date(), data["channel"])] += 1
        if counts:
            await conn.executemany(_ADD, [(*key, n) for key, n in counts.items()])


async def report(
    pool: asyncpg.Pool, owner_id: str | None, start: date, end: date
) -> dict[str, Any]:
    """Touches from ``start`` to ``end`` (inclusive, UTC days) per owner, channel and week."""
    owners: dict[str, dict[str, Any]] = {}
    for row in await pool.fetch(_REPORT, start, end, owner_id):
        owner = owners.setdefault(
            row["owner_id"],
            {"owner_id": row["owner_id"], "total": 0, "by_channel": Counter(), "weeks": {}},
        )
        week = owner["weeks"].setdefault(
            row["week"], {"week": row["week"], "total": 0, "by_channel": {}}
        )
        n = row["touches"]
        owner["total"] += n
        owner["by_channel"][row["channel"]] += n
        week["total"] += n
        week["by_channel"][row["channel"]] = n
    listed = [
        {**o, "by_channel": dict(o["by_channel"]), "weeks": list(o["weeks"].values())}
        for o in owners.values()
    ]
    return {
        "from": start,
        "to": end,
        "owner_id": owner_id,
        "total": sum(o["total"] for o in listed),
        "owners": listed,
    }
