"""The pipeline waterfall: how the open pipeline moved between two moments.

Scope: open deals — and, when a close window [close_from, close_to] is given (dates,
inclusive, either end optional), only those whose expected close date lies in it.
``start`` and ``end`` are the deals in scope as of ``from`` and ``to``. In between,
every change of a deal's state (each row of ``deal_state_history`` that begins in
(from, to], compared with the row before it) falls in exactly one bucket:

- into scope (count +1, amount = the amount it comes in with):
  **created** (a new deal), **reopened** (a lost deal reopened),
  **pulled_in** (expected close date moved into the window);
- out of scope (count −1, amount = the amount it had just before):
  **won** (won, or won and closed), **lost**, **pushed_out** (expected close date
  moved out of the window, or removed);
- staying in scope: **increased** / **decreased** by the change of amount (count 0;
  ``deals`` says how many deals changed).

A deal can move several times (created, increased, then won — all inside the
period); each change is counted once, so per currency, by count and by amount:

    start + created + reopened + pulled_in + increased
          − pushed_out − decreased − won − lost = end

Buckets report magnitudes (all ≥ 0). Deals do not change pipeline or currency, and a
grade filter uses the accounts' current grade, so neither moves a deal in or out.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import asyncpg
import structlog

from .views_common import ZERO, money, rfc3339

log = structlog.get_logger(__name__)

INFLOWS = ("created", "reopened", "pulled_in", "increased")
OUTFLOWS = ("pushed_out", "decreased", "won", "lost")

_STATE_AT = """
select h.currency, count(*)::int as count, coalesce(sum(h.amount), 0) as amount
from deal_state_history h
where tstzrange(h.valid_from, h.valid_to) @> $1::timestamptz
  and h.status = 'open'
  and ($2::date is null or h.expected_close_date >= $2)
  and ($3::date is null or h.expected_close_date <= $3)
  and ($4::text is null or h.pipeline = $4)
  and ($5::text is null or exists (
      select 1 from account_directory a where a.account_id = h.account_id and a.grade = $5))
group by h.currency
"""
_MOVES = """
with moves as (
    select b.deal_id, b.currency, p.deal_id is null as created, p.status as was_status,
           b.status, coalesce(p.amount, 0) as was_amount, b.amount,
           coalesce(p.status = 'open'
                    and ($3::date is null or p.expected_close_date >= $3)
                    and ($4::date is null or p.expected_close_date <= $4), false) as was_in,
           coalesce(b.status = 'open'
                    and ($3::date is null or b.expected_close_date >= $3)
                    and ($4::date is null or b.expected_close_date <= $4), false) as is_in
    from deal_state_history b
    left join lateral (
        select s.deal_id, s.status, s.amount, s.expected_close_date
        from deal_state_history s
        where s.deal_id = b.deal_id and s.valid_from < b.valid_from
        order by s.valid_from desc limit 1
    ) p on true
    where b.valid_from > $1 and b.valid_from <= $2
      and ($5::text is null or b.pipeline = $5)
      and ($6::text is null or exists (
          select 1 from account_directory a where a.account_id = b.account_id and a.grade = $6))
), classified as (
    select deal_id, currency,
           case
               when was_in and is_in then
                   case when amount > was_amount then 'increased'
                        when amount < was_amount then 'decreased' end
               when is_in then
                   case when created then 'created'
                        when was_status <> 'open' then 'reopened'
                        else 'pulled_in' end
               when was_in then
                   case when status in ('won', 'closed') then 'won'
                        when status = 'lost' then 'lost'
                        else 'pushed_out' end
           end as bucket,
           case
               when was_in and is_in then abs(amount - was_amount)
               when is_in then amount
               else was_amount
           end as amount
    from moves
)
select currency, bucket, count(*)::int as moves, count(distinct deal_id)::int as deals,
       sum(amount) as amount
from classified where bucket is not null
group by currency, bucket
"""


async def waterfall_view(
    pool: asyncpg.Pool,
    *,
    start: datetime,
    end: datetime,
    close_from: date | None,
    close_to: date | None,
    pipeline: str | None,
    grade: str | None,
) -> dict[str, Any]:
    scope = (close_from, close_to, pipeline, grade)
    # One snapshot for the three reads, so a batch applied meanwhile cannot unbalance them.
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        at_start = {r["currency"]: r for r in await conn.fetch(_STATE_AT, start, *scope)}
        at_end = {r["currency"]: r for r in await conn.fetch(_STATE_AT, end, *scope)}
        found = await conn.fetch(_MOVES, start, end, *scope)
    moves: dict[str, dict[str, asyncpg.Record]] = {}
    for r in found:
        moves.setdefault(r["currency"], {})[r["bucket"]] = r
    currencies = sorted(set(at_start) | set(at_end) | set(moves))
    return {
        "from": rfc3339(start),
        "to": rfc3339(end),
        "filters": {
            "close_from": None if close_from is None else close_from.isoformat(),
            "close_to": None if close_to is None else close_to.isoformat(),
            "pipeline": pipeline,
            "grade": grade,
        },
        "currencies": [
            _currency(c, at_start.get(c), at_end.get(c), moves.get(c, {})) for c in currencies
        ],
    }


def _currency(
    currency: str,
    start: asyncpg.Record | None,
    end: asyncpg.Record | None,
    moves: dict[str, asyncpg.Record],
) -> dict[str, Any]:
    def state(r: asyncpg.Record | None) -> tuple[int, Decimal]:
        return (r["count"], r["amount"]) if r else (0, ZERO)

    out: dict[str, Any] = {"currency": currency}
    count, amount = state(start)
    out["start"] = {"count": count, "amount": money(amount)}
    for bucket in INFLOWS + OUTFLOWS:
        r = moves.get(bucket)
        n = 0 if r is None or bucket in ("increased", "decreased") else r["moves"]
        value = ZERO if r is None else r["amount"]
        sign = 1 if bucket in INFLOWS else -1
        count, amount = count + sign * n, amount + sign * value
        out[bucket] = {"count": n, "amount": money(value)}
        if bucket in ("increased", "decreased"):
            out[bucket]["deals"] = 0 if r is None else r["deals"]
    end_count, end_amount = state(end)
    out["end"] = {"count": end_count, "amount": money(end_amount)}
    out["balanced"] = (count, amount) == (end_count, end_amount)
    if not out["balanced"]:  # a bug in the projection or the buckets: say so loudly
        log.error("waterfall.unbalanced", currency=currency, computed=[count, str(amount)])
    return out
