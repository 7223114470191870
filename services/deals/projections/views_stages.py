"""Stage visits and funnel facts: time in stage per deal, and the stage funnel.

``deal_stage_visits``: one row per stay in a stage, with when and how the deal came
in (open, advance, skip, back, won, reopen) and left (advance, skip, back, won,
lost, closed); ``left_at`` is null while it is still there. Its [entered_at, left_at)
intervals are the validity intervals of "the deal's stage", so time in stage as of
any moment is a query.

``deal_stage_funnel``: one row per deal and stage it reached, written as the visits
change:

- ``reached_at``: first time the deal was in the stage, or was carried past it by a
  skip (a skipped stage counts as passed through);
- ``went_on_at`` / ``went_on_by``: first time it left the stage *forward* (advance,
  skip or won), or was skipped past it (``passed``). Backward moves, losses and
  closing are not conversions, and re-entries change neither time: once per deal;
- ``spent_seconds``: time spent in the stage over its stays until it first went on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from services.deals.domain import (
    Deal,
    DealClosed,
    DealLost,
    DealOpened,
    DealReopened,
    DealWon,
    StageChanged,
    StageVisit,
    cumulative_time_by_stage,
    time_in_stage,
)
from shared.eventstore import RecordedEvent
from shared.projections import BATCH_WINDOW, Projection

from .views_common import FORWARD_MOVES, Catalog, columns, deal_events, now, rfc3339, seconds

TYPES = frozenset(
    c.__name__ for c in (DealOpened, StageChanged, DealWon, DealLost, DealReopened, DealClosed)
)
VISIT_COLUMNS = (
    "deal_id", "seq", "pipeline", "stage", "entered_at", "entered_by", "left_at", "left_by",
)  # fmt: skip
FUNNEL_COLUMNS = (
    "deal_id", "stage", "pipeline", "account_id", "opened_at", "reached_at", "went_on_at",
    "went_on_by", "spent_seconds",
)  # fmt: skip
_LAST_VISITS = """
select distinct on (deal_id) deal_id, seq, pipeline, stage, entered_at, entered_by, left_at,
       left_by
from deal_stage_visits where deal_id = any($1::uuid[]) order by deal_id, seq desc
"""
_FUNNEL_ROWS = """
select deal_id, stage, pipeline, account_id, opened_at, reached_at, went_on_at, went_on_by,
       spent_seconds
from deal_stage_funnel where deal_id = any($1::uuid[])
"""
# Each batch writes with two statements, rows passed as one array per column.
_UPSERT_VISIT = """
insert into deal_stage_visits (deal_id, seq, pipeline, stage, entered_at, entered_by, left_at,
                               left_by)
select * from unnest($1::uuid[], $2::int[], $3::text[], $4::text[], $5::timestamptz[],
                     $6::text[], $7::timestamptz[], $8::text[])
on conflict (deal_id, seq) do update set left_at = excluded.left_at, left_by = excluded.left_by
"""
_UPSERT_FUNNEL = """
insert into deal_stage_funnel (deal_id, stage, pipeline, account_id, opened_at, reached_at,
                               went_on_at, went_on_by, spent_seconds)
select * from unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[], $5::timestamptz[],
                     $6::timestamptz[], $7::timestamptz[], $8::text[], $9::numeric[])
on conflict (deal_id, stage) do update set
    went_on_at = excluded.went_on_at, went_on_by = excluded.went_on_by,
    spent_seconds = excluded.spent_seconds
"""
_VISITS_OF = """
select stage, pipeline, entered_at, left_at from deal_stage_visits
where deal_id = $1 and ($2::timestamptz is null or entered_at <= $2)
order by seq
"""


@dataclass
class _Stays:
    """One deal's last visit and funnel rows while a batch is folded."""

    last: dict[str, Any] | None = None
    funnel: dict[str, dict[str, Any]] = field(default_factory=dict)
    written: dict[int, dict[str, Any]] = field(default_factory=dict)  # by seq
    changed: set[str] = field(default_factory=set)  # stages whose funnel row changed

    def enter(self, deal_id: UUID, stage: str, at: datetime, by: str) -> None:
        seq = self.last["seq"] + 1 if self.last else 1
        pipeline = self.last["pipeline"] if self.last else self._any()["pipeline"]
        self.last = {
            "deal_id": deal_id, "seq": seq, "pipeline": pipeline, "stage": stage,
            "entered_at": at, "entered_by": by, "left_at": None, "left_by": None,
        }  # fmt: skip
        self.written[seq] = self.last
        self.reach(deal_id, stage, at)

    def leave(self, at: datetime, by: str) -> None:
        visit = self.last
        if visit is None or visit["left_at"] is not None:
            return
        visit["left_at"], visit["left_by"] = max(at, visit["entered_at"]), by
        self.written[visit["seq"]] = visit
        row = self.funnel.get(visit["stage"])
        if row is not None and row["went_on_at"] is None:
            row["spent_seconds"] += seconds(visit["left_at"] - visit["entered_at"])
            self.changed.add(visit["stage"])

    def reach(self, deal_id: UUID, stage: str, at: datetime) -> dict[str, Any]:
        if stage not in self.funnel:
            base = self._any()
            self.funnel[stage] = {
                "deal_id": deal_id, "stage": stage, "pipeline": base["pipeline"],
                "account_id": base["account_id"], "opened_at": base["opened_at"],
                "reached_at": at, "went_on_at": None, "went_on_by": None,
                "spent_seconds": Decimal(0),
            }  # fmt: skip
            self.changed.add(stage)
        return self.funnel[stage]

    def went_on(self, deal_id: UUID, stage: str, at: datetime, by: str) -> None:
        row = self.reach(deal_id, stage, at)
        if row["went_on_at"] is None:
            row["went_on_at"], row["went_on_by"] = at, by
            self.changed.add(stage)

    def _any(self) -> dict[str, Any]:
        return next(iter(self.funnel.values()))


class StageVisits(Projection):
    name = "views_stage_visits"
    tables = ("deal_stage_visits", "deal_stage_funnel")
    batch_window = BATCH_WINDOW

    async def apply(self, conn: asyncpg.Connection, events: list[RecordedEvent]) -> None:
        decoded = deal_events(events, TYPES)
        if not decoded:
            return
        ids = list({e.deal_id for e, _ in decoded})
        deals: dict[UUID, _Stays] = {i: _Stays() for i in ids}
        for r in await conn.fetch(_LAST_VISITS, ids):
            deals[r["deal_id"]].last = dict(r)
        for r in await conn.fetch(_FUNNEL_ROWS, ids):
            deals[r["deal_id"]].funnel[r["stage"]] = dict(r)
        for event, _version in decoded:
            _fold(deals[event.deal_id], event)
        visits = [v for d in deals.values() for v in d.written.values()]
        funnel = [d.funnel[stage] for d in deals.values() for stage in d.changed]
        await conn.execute(_UPSERT_VISIT, *columns(visits, VISIT_COLUMNS))
        await conn.execute(_UPSERT_FUNNEL, *columns(funnel, FUNNEL_COLUMNS))


def _fold(d: _Stays, e: Any) -> None:
    match e:
        case DealOpened():
            d.funnel.clear()
            d.funnel[e.stage] = {
                "deal_id": e.deal_id, "stage": e.stage, "pipeline": e.pipeline,
                "account_id": e.account_id, "opened_at": e.at, "reached_at": e.at,
                "went_on_at": None, "went_on_by": None, "spent_seconds": Decimal(0),
            }  # fmt: skip
            d.changed.add(e.stage)
            d.last = None
            d.enter(e.deal_id, e.stage, e.at, "open")
        case StageChanged() if d.funnel:
            move = str(e.move)
            d.leave(e.at, move)
            if move in FORWARD_MOVES:
                d.went_on(e.deal_id, e.from_stage, e.at, move)
            for skipped in e.skipped:
                d.went_on(e.deal_id, skipped, e.at, "passed")
            d.enter(e.deal_id, e.to_stage, e.at, move)
        case DealWon() if d.funnel:
            d.leave(e.at, "won")
            d.went_on(e.deal_id, e.from_stage, e.at, "won")
            d.enter(e.deal_id, e.stage, e.at, "won")
        case DealLost() if d.funnel:
            d.leave(e.at, "lost")
        case DealClosed() if d.funnel:
            d.leave(e.at, "closed")
        case DealReopened() if d.funnel:
            d.enter(e.deal_id, e.stage, e.at, "reopen")


async def time_in_stage_of(
    pool: asyncpg.Pool, catalog: Catalog, deal_id: UUID, as_of: datetime | None
) -> dict[str, Any] | None:
    """Latest visit and cumulative time per stage of one deal (None: no such deal then).

    Whole days are floored, as on the deal itself; ``seconds`` are exact. A stay still
    going on at the moment (``as_of`` or now) counts up to that moment.
    """
    rows = await pool.fetch(_VISITS_OF, deal_id, as_of)
    if not rows:
        return None
    moment = as_of or now()
    stays = tuple(
        StageVisit(
            stage=r["stage"],
            entered_at=r["entered_at"],
            left_at=r["left_at"] if r["left_at"] is not None and r["left_at"] <= moment else None,
        )
        for r in rows
    )
    deal = Deal(stage_history=stays)
    pipeline, last = rows[0]["pipeline"], stays[-1]
    latest = time_in_stage(deal, moment)
    visits: dict[str, int] = {}
    for stay in stays:
        visits[stay.stage] = visits.get(stay.stage, 0) + 1
    return {
        "deal_id": str(deal_id),
        "as_of": rfc3339(moment),
        "pipeline": pipeline,
        "latest": {
            "stage": last.stage,
            **catalog.stage_names(pipeline, last.stage),
            "entered_at": rfc3339(last.entered_at),
            "left_at": rfc3339(last.left_at),
            "current": last.left_at is None,
            "days": latest.days,
            "seconds": latest.total_seconds(),
        },
        "cumulative": [
            {
                "stage": stage,
                **catalog.stage_names(pipeline, stage),
                "visits": visits[stage],
                "days": spent.days,
                "seconds": spent.total_seconds(),
            }
            for stage, spent in cumulative_time_by_stage(deal, moment).items()
        ],
    }
