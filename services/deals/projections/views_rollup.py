"""Pipeline totals as of any moment, in a few rows, whatever order events arrive in.

The open pipeline is summed per key (pipeline, stage, currency). Each change of a
deal's state adds a delta (deals, amount, weighted amount, Σ stage-entry epoch
seconds) at its business time t: negative to the key it leaves, positive to the key
it enters. Two tables keep the deltas:

- ``pipeline_changes``: each delta at its exact time, summed per key and instant;
- ``pipeline_tree``: per key, sums over aligned blocks of hours since 1970 — 1 hour,
  16 hours, 256 hours … 16⁵ hours (node = level << 40 | block), plus one node (-1)
  with everything. A delta adds to 7 nodes (its block at each level, and the total);
  the hours before any hour are covered by at most 15 blocks per level.

As of T, in hour h: Σ the blocks covering the hours before h + Σ changes in [start of
hour h, T] — under a hundred rows per key; live: the total node. Adding commutes, so
an event arriving late in the feed with an earlier ``at`` (concurrent writers, an
import, a rebuild) costs what any other does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg

from .views_common import EPOCH, OPEN, ZERO, epoch_seconds

Key = tuple[str, str, str]  # pipeline, stage, currency
Values = tuple[int, Decimal, Decimal, Decimal]  # deals, amount, weighted, Σ entered epoch
NOTHING: Values = (0, ZERO, ZERO, ZERO)
HOUR = timedelta(hours=1)
LEVELS = 6  # blocks of 16^0 … 16^5 hours (about 120 years)
TOTAL = -1

_ADD_CHANGES = """
insert into pipeline_changes (at, pipeline, stage, currency,
                              deals, amount, weighted_amount, entered_epoch)
select * from unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[],
                     $5::int[], $6::numeric[], $7::numeric[], $8::numeric[])
on conflict (at, pipeline, stage, currency) do update set
    deals = pipeline_changes.deals + excluded.deals,
    amount = pipeline_changes.amount + excluded.amount,
    weighted_amount = pipeline_changes.weighted_amount + excluded.weighted_amount,
    entered_epoch = pipeline_changes.entered_epoch + excluded.entered_epoch
"""
_ADD_NODES = """
insert into pipeline_tree (node, pipeline, stage, currency,
                           deals, amount, weighted_amount, entered_epoch)
select * from unnest($1::bigint[], $2::text[], $3::text[], $4::text[],
                     $5::int[], $6::numeric[], $7::numeric[], $8::numeric[])
on conflict (node, pipeline, stage, currency) do update set
    deals = pipeline_tree.deals + excluded.deals,
    amount = pipeline_tree.amount + excluded.amount,
    weighted_amount = pipeline_tree.weighted_amount + excluded.weighted_amount,
    entered_epoch = pipeline_tree.entered_epoch + excluded.entered_epoch
"""


def hour_of(moment: datetime) -> int:
    """Index of the hour since 1970 that holds ``moment`` (earlier moments: hour 0)."""
    return max(0, (moment - EPOCH) // HOUR)


def hour_start(hour: int) -> datetime:
    return EPOCH + hour * HOUR


def update_nodes(hour: int) -> list[int]:
    """The blocks that contain ``hour``, one per level, and the total."""
    return [TOTAL, *((level << 40) | (hour >> 4 * level) for level in range(LEVELS))]


def prefix_nodes(hour: int) -> list[int]:
    """The blocks that together cover exactly the hours before ``hour``: at each level,
    from the top, the whole blocks not covered by the level above."""
    nodes = []
    for level in range(LEVELS - 1, -1, -1):
        whole = hour >> 4 * level
        first = 0 if level == LEVELS - 1 else (whole >> 4) << 4
        nodes.extend((level << 40) | block for block in range(first, whole))
    return nodes


def as_of_parts(moment: datetime | None) -> tuple[list[int], datetime | None, datetime | None]:
    """(tree nodes, changes from, changes to) that sum to the totals at ``moment``;
    ``None`` (live) is the total node alone."""
    if moment is None:
        return [TOTAL], None, None
    hour = hour_of(moment)
    return prefix_nodes(hour), hour_start(hour), moment


def _plus(a: Values, b: Values) -> Values:
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3])


def _contributions(row: dict[str, Any] | None) -> list[tuple[Key, Values]]:
    if row is None or row["status"] != OPEN:
        return []
    values = (1, row["amount"], row["weighted_amount"], epoch_seconds(row["stage_entered_at"]))
    return [((row["pipeline"], row["stage"], row["currency"]), values)]


@dataclass
class Deltas:
    """The changes of one batch, summed per key and instant."""

    by_key: dict[tuple[Key, datetime], Values] = field(default_factory=dict)

    def change(self, t: datetime, old: dict[str, Any] | None, new: dict[str, Any]) -> None:
        """A deal went from ``old`` to ``new`` at ``t``: leave the old key, enter the new."""
        for found, sign in ((_contributions(old), -1), (_contributions(new), 1)):
            for key, (n, amount, weighted, entered) in found:
                delta = (sign * n, sign * amount, sign * weighted, sign * entered)
                self.by_key[(key, t)] = _plus(self.by_key.get((key, t), NOTHING), delta)


async def write(conn: asyncpg.Connection, deltas: Deltas) -> None:
    """Add a batch's deltas: one statement for the changes, one for the tree nodes."""
    changes = [(key, t, v) for (key, t), v in deltas.by_key.items() if v != NOTHING]
    if not changes:
        return
    hours: dict[tuple[Key, int], Values] = {}
    for key, t, v in changes:
        hours[(key, hour_of(t))] = _plus(hours.get((key, hour_of(t)), NOTHING), v)
    nodes: dict[tuple[int, Key], Values] = {}
    for (key, hour), v in hours.items():
        for node in update_nodes(hour):
            nodes[(node, key)] = _plus(nodes.get((node, key), NOTHING), v)
    await conn.execute(_ADD_CHANGES, *_columns([(t, *k, *v) for k, t, v in changes]))
    await conn.execute(_ADD_NODES, *_columns([(node, *k, *v) for (node, k), v in nodes.items()]))


def _columns(rows: list[tuple]) -> list[list[Any]]:
    return [list(column) for column in zip(*rows, strict=True)]
