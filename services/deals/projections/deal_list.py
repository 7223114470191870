"""The deal list: one row per deal, for GET /deals (filters, stalled, keyset pagination).

A batch loads the rows of the deals it touches, folds their events into them in
order and writes them back with one upsert: two round trips per batch whatever
its mix of events. The fold mirrors ``domain.evolve`` for the listed fields
(an integration test compares the row with the folded deal). The forecast keeps
the pipeline's suggestion and the actor's assertion apart, as the domain does.
Stalled is computed when read, against the current stall limits of every
pipeline's stages and the latest touch from the accounts feed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from services.deals.domain import STREAM_TYPE
from shared.eventstore import RecordedEvent
from shared.projections import BATCH_WINDOW, Projection

COLUMNS = (
    "deal_id", "account_id", "title", "owner_id", "pipeline", "stage", "status", "amount",
    "currency", "suggested_probability", "asserted_probability", "suggested_category",
    "asserted_category", "expected_close_date", "stage_entered_at", "ended_at", "opened_at",
    "updated_at", "version",
)  # fmt: skip
_SELECT = """
select deal_id, account_id, title, owner_id, pipeline, stage, status, amount, currency,
       suggested_probability, asserted_probability, suggested_category, asserted_category,
       expected_close_date, stage_entered_at, ended_at, opened_at, updated_at, version
from deal_list where deal_id = any($1::uuid[])
"""
_UPSERT = """
insert into deal_list (deal_id, account_id, title, owner_id, pipeline, stage, status, amount,
    currency, suggested_probability, asserted_probability, suggested_category, asserted_category,
    expected_close_date, stage_entered_at, ended_at, opened_at, updated_at, version)
values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
on conflict (deal_id) do update set
    title = excluded.title, owner_id = excluded.owner_id, stage = excluded.stage,
    status = excluded.status, amount = excluded.amount,
    suggested_probability = excluded.suggested_probability,
    asserted_probability = excluded.asserted_probability,
    suggested_category = excluded.suggested_category,
    asserted_category = excluded.asserted_category,
    expected_close_date = excluded.expected_close_date,
    stage_entered_at = excluded.stage_entered_at, ended_at = excluded.ended_at,
    updated_at = excluded.updated_at, version = excluded.version
"""
# Newest first, keyset on (opened_at, deal_id); a filter is skipped when its parameter
# is null. Stall limits come in as three parallel arrays (pipeline, stage, days).
_SEARCH = """
select * from (
    select d.deal_id, d.account_id, d.title, d.owner_id, d.pipeline, d.stage, d.status,
           d.amount, d.currency,
           coalesce(d.asserted_probability, d.suggested_probability) as probability,
           coalesce(d.asserted_category, d.suggested_category) as forecast_category,
           d.expected_close_date, d.stage_entered_at, d.ended_at, d.opened_at, d.updated_at,
           d.version, t.last_touch_at,
           coalesce(d.status = 'open' and l.days is not null
                    and greatest(d.stage_entered_at, t.last_touch_at)
                        < $1::timestamptz - make_interval(days => l.days), false) as stalled
    from deal_list d
    left join unnest($2::text[], $3::text[], $4::integer[]) as l (pipeline, stage, days)
           on l.pipeline = d.pipeline and l.stage = d.stage
    left join deal_last_touch t on t.deal_id = d.deal_id
    where ($5::text is null or d.status = $5)
      and ($6::text is null or d.stage = $6)
      and ($7::text is null or d.owner_id = $7)
      and ($8::uuid is null or d.account_id = $8)
      and ($9::text is null or d.pipeline = $9)
      and ($10::timestamptz is null or (d.opened_at, d.deal_id) < ($10, $11::uuid))
) listed
where ($12::boolean is null or stalled = $12)
order by opened_at desc, deal_id desc
limit $13
"""
_IN_USE = "select exists (select 1 from deal_list where pipeline = $1)"


class DealList(Projection):
    name = "deal_list"
    tables = ("deal_list",)
    batch_window = BATCH_WINDOW

    async def apply(self, conn: asyncpg.Connection, events: list[RecordedEvent]) -> None:
        mine = [e for e in events if e.stream_type == STREAM_TYPE]
        if not mine:
            return
        ids = list({UUID(e.stream_id) for e in mine})
        rows = {row["deal_id"]: dict(row) for row in await conn.fetch(_SELECT, ids)}
        for event in mine:
            _fold(rows, event)
        values = [tuple(row[c] for c in COLUMNS) for row in rows.values()]
        if values:
            await conn.executemany(_UPSERT, values)


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _opened(data: dict[str, Any], deal_id: UUID) -> dict[str, Any]:
    at = _ts(data["at"])
    close = data["expected_close_date"]
    return {
        "deal_id": deal_id, "account_id": UUID(data["account_id"]), "title": data["title"],
        "owner_id": data["owner_id"], "pipeline": data["pipeline"], "stage": data["stage"],
        "status": "open", "amount": Decimal(data["amount"]), "currency": data["currency"],
        "suggested_probability": Decimal(data["probability"]), "asserted_probability": None,
        "suggested_category": data["forecast_category"], "asserted_category": None,
        "expected_close_date": None if close is None else date.fromisoformat(close),
        "stage_entered_at": at, "ended_at": None, "opened_at": at,
    }  # fmt: skip


def _suggest(row: dict[str, Any], data: dict[str, Any]) -> None:
    """A win, loss or reopening resets the forecast to the stage's suggestion."""
    row["suggested_probability"] = Decimal(data["probability"])
    row["suggested_category"] = data["forecast_category"]
    row["asserted_probability"] = row["asserted_category"] = None


def _fold(rows: dict[UUID, dict[str, Any]], event: RecordedEvent) -> None:
    data, deal_id = event.data, UUID(event.stream_id)
    if event.type == "DealOpened":
        rows[deal_id] = _opened(data, deal_id)
    row = rows.get(deal_id)
    if row is None:
        return
    at = _ts(data["at"])
    match event.type:
        case "DealUpdated":
            if data["title"] is not None:
                row["title"] = data["title"]
            if data["amount"] is not None:
                row["amount"] = Decimal(data["amount"])
            if data["expected_close_date"] is not None:
                row["expected_close_date"] = date.fromisoformat(data["expected_close_date"])
        case "DealOwnerChanged":
            row["owner_id"] = data["owner_id"]
        case "StageChanged":
            row["stage"], row["stage_entered_at"] = data["to_stage"], at
            row["suggested_probability"] = Decimal(data["probability"])
            row["suggested_category"] = data["forecast_category"]
        case "ForecastOverridden":
            if data["probability"] is not None:
                row["asserted_probability"] = Decimal(data["probability"])
            if data["category"] is not None:
                row["asserted_category"] = data["category"]
        case "ForecastOverrideCleared":
            row["asserted_probability"] = row["asserted_category"] = None
        case "DealWon":
            row["stage"], row["stage_entered_at"], row["status"] = data["stage"], at, "won"
            row["amount"] = Decimal(data["contract_value"])
            _suggest(row, data)
        case "DealLost":
            row["status"], row["ended_at"] = "lost", at
            _suggest(row, {"probability": "0", "forecast_category": "omitted"})
        case "DealReopened":
            row["stage"], row["stage_entered_at"] = data["stage"], at
            row["status"], row["ended_at"] = data["status"], None
            _suggest(row, data)
        case "ChangeOrderAdded":
            row["amount"] = Decimal(data["contract_value"])
        case "DealClosed":
            row["status"], row["ended_at"] = "closed", at
    row["updated_at"], row["version"] = at, event.version


# --- reads -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DealFilter:
    status: str | None = None
    stage: str | None = None
    owner_id: str | None = None
    account_id: UUID | None = None
    pipeline: str | None = None
    stalled: bool | None = None


@dataclass(frozen=True, slots=True)
class StallLimits:
    """Stall limits of every stage of every pipeline, as parallel arrays for the query."""

    pipelines: list[str]
    stages: list[str]
    days: list[int]


async def search(
    pool: asyncpg.Pool,
    where: DealFilter,
    limits: StallLimits,
    now: datetime,
    after: list[Any] | None,
    limit: int,
) -> tuple[list[asyncpg.Record], list[Any] | None]:
    """A page of deals, newest first, and the cursor values of the next page (or None)."""
    after_at, after_id = after or (None, None)
    rows = await pool.fetch(
        _SEARCH, now, limits.pipelines, limits.stages, limits.days,
        where.status, where.stage, where.owner_id, where.account_id, where.pipeline,
        after_at, after_id, where.stalled, limit + 1,
    )  # fmt: skip
    more = len(rows) > limit
    last = rows[limit - 1] if more else None
    return rows[:limit], [last["opened_at"], last["deal_id"]] if last is not None else None


async def pipeline_in_use(pool: asyncpg.Pool, code: str) -> bool:
    """Whether any deal was opened on the pipeline (as far as the list has caught up)."""
    return await pool.fetchval(_IN_USE, code)
