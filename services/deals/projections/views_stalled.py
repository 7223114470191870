"""Stalled deals: open deals with no stage change and no touch for longer than their
stage's stall limit (异常), the longest idle first.

Last activity = the later of when the deal entered its current stage (a reopen
counts as entering it) and its latest touch from the accounts feed
(``deal_last_touch``, read at query time). A deal is stalled when ``moment − last
activity`` exceeds the stage's limit in days (stages without a limit never stall).
As of a past moment the stage comes from ``deal_state_history`` and the latest touch
made by then from ``deal_touches``.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from .views_common import Catalog, money, now, rfc3339

_SELECT = """
with limits as (
    select * from unnest($1::text[], $2::text[], $3::int[]) as l(pipeline, stage, days)
), idle as (
    select h.deal_id, h.title, h.owner_id, h.account_id, h.pipeline, h.stage,
           h.stage_entered_at, h.amount, h.currency, l.days, t.last_touch_at,
           greatest(h.stage_entered_at, t.last_touch_at) as last_activity_at
    from deal_state_history h
    join limits l on l.pipeline = h.pipeline and l.stage = h.stage
"""
_LATEST_TOUCH = """
    left join deal_last_touch t on t.deal_id = h.deal_id and t.last_touch_at <= $4
    where h.valid_to = 'infinity'
"""
_TOUCH_BY_THEN = """
    left join lateral (
        select max(touched_at) as last_touch_at from deal_touches
        where deal_id = h.deal_id and touched_at <= $4
    ) t on true
    where tstzrange(h.valid_from, h.valid_to) @> $4
"""
_WHERE = """
      and h.status = 'open'
      and ($5::text is null or h.owner_id = $5) and ($6::text is null or h.pipeline = $6)
      and ($7::text is null or exists (
          select 1 from account_directory a where a.account_id = h.account_id and a.grade = $7))
)
select i.*, a.name as account_name
from idle i left join account_directory a on a.account_id = i.account_id
where i.last_activity_at < $4 - make_interval(days => i.days)
  and ($8::timestamptz is null or (i.last_activity_at, i.deal_id) > ($8, $9::uuid))
order by i.last_activity_at, i.deal_id
limit $10
"""
_LIVE = _SELECT + _LATEST_TOUCH + _WHERE
_AS_OF = _SELECT + _TOUCH_BY_THEN + _WHERE


class BadCursorError(ValueError):
    """A stalled-page cursor this view did not hand out."""


def encode_cursor(last_activity_at: datetime, deal_id: UUID) -> str:
    raw = f"{last_activity_at.isoformat()}|{deal_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str | None) -> tuple[datetime | None, UUID | None]:
    if not text:
        return None, None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        moment, deal_id = raw.split("|")
        return datetime.fromisoformat(moment), UUID(deal_id)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadCursorError(f"not a stalled-deals cursor: {text!r}") from exc


async def stalled_view(
    pool: asyncpg.Pool,
    catalog: Catalog,
    *,
    owner_id: str | None,
    pipeline: str | None,
    grade: str | None,
    as_of: datetime | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[dict[str, Any]], str | None, datetime]:
    """A page of stalled deals, the cursor of the next page (None on the last) and the
    moment they were measured at."""
    after_at, after_id = decode_cursor(cursor)
    moment = as_of or now()
    statement = _LIVE if as_of is None else _AS_OF
    limits = catalog.stall_limits()
    rows = await pool.fetch(
        statement, *limits, moment, owner_id, pipeline, grade, after_at, after_id, limit + 1
    )
    items = [_item(r, moment) for r in rows[:limit]]
    if len(rows) <= limit:
        return items, None, moment
    last = rows[limit - 1]
    return items, encode_cursor(last["last_activity_at"], last["deal_id"]), moment


def _item(r: asyncpg.Record, moment: datetime) -> dict[str, Any]:
    idle = (moment - r["last_activity_at"]).days
    return {
        "deal_id": str(r["deal_id"]),
        "title": r["title"],
        "owner_id": r["owner_id"],
        "account_id": str(r["account_id"]),
        "account_name": r["account_name"],
        "pipeline": r["pipeline"],
        "stage": r["stage"],
        "stage_entered_at": rfc3339(r["stage_entered_at"]),
        "last_touch_at": rfc3339(r["last_touch_at"]),
        "last_activity_at": rfc3339(r["last_activity_at"]),
        "idle_days": idle,
        "stall_limit_days": r["days"],
        "days_over_limit": idle - r["days"],
        "amount": money(r["amount"]),
        "currency": r["currency"],
    }
