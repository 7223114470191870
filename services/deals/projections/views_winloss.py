"""Win/loss over a period and sales velocity, read from ``deal_outcomes``.

An outcome counts when it happened in [from, to) (either end optional) and is known
at the moment (``as_of``, default now): it happened by then and, for a loss, the
deal had not been reopened by then. Figures per group and in total:

- won, lost (counts); win rate = won ÷ (won + lost);
- per currency: won and lost amounts (contract value; amount when lost), win rate by
  amount = won ÷ (won + lost) amounts, average won amount;
- average cycle days (opened → won or lost) over all outcomes, and over wins only.

``by``: cause (loss cause; wins have none: key null), competitor (each competitor on
the deal when it ended, plus the one it was lost to — a deal counts under each; no
competitor: key null), stage (where it ended: the stage lost in, the stage won
from), owner, grade (the account's current grade), month (UTC, of the outcome).

Sales velocity, per currency = open deals × average won amount × win rate ÷ average
sales cycle (days, of the wins): money per day. Open deals are counted at the end of
the period (``to``, or the moment if earlier) with the same filters; the rates are
the period's.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, get_args

import asyncpg

from .views_common import DAY_SECONDS, ZERO, days, money, now, ratio, rfc3339

By = Literal["cause", "competitor", "stage", "owner", "grade", "month"]
BY: tuple[str, ...] = get_args(By)

_AGGREGATES = """o.outcome, o.currency, count(*)::int as n, sum(o.amount) as amount,
       sum(extract(epoch from o.at - o.opened_at)) as cycle_seconds
from deal_outcomes o
left join account_directory a on a.account_id = o.account_id
"""
_WHERE = """
where o.at <= $1 and (o.retracted_at is null or o.retracted_at > $1)
  and ($2::timestamptz is null or o.at >= $2) and ($3::timestamptz is null or o.at < $3)
  and ($4::text is null or o.owner_id = $4) and ($5::text is null or o.pipeline = $5)
  and ($6::text is null or a.grade = $6)
"""
# $7 null: one group (the totals).
_BY_COLUMN = (
    """
select case $7::text
           when 'cause' then o.cause
           when 'stage' then o.stage
           when 'owner' then o.owner_id
           when 'grade' then a.grade
           when 'month' then to_char(o.at at time zone 'UTC', 'YYYY-MM')
       end as key,
       """
    + _AGGREGATES
    + _WHERE
    + "group by 1, o.outcome, o.currency"
)
_BY_COMPETITOR = (
    """
select lower(c.name) as key, min(c.name) as label,
       """
    + _AGGREGATES
    + """cross join lateral unnest(
    case when cardinality(o.competitors) = 0 then array[null::text] else o.competitors end
) as c(name)"""
    + _WHERE
    + "group by lower(c.name), o.outcome, o.currency"
)
_OPEN_DEALS = """
select h.currency, count(*)::int as deals
from deal_state_history h
where tstzrange(h.valid_from, h.valid_to) @> $1::timestamptz and h.status = 'open'
  and ($2::text is null or h.owner_id = $2) and ($3::text is null or h.pipeline = $3)
  and ($4::text is null or exists (
      select 1 from account_directory a where a.account_id = h.account_id and a.grade = $4))
group by h.currency
"""


async def win_loss_view(
    pool: asyncpg.Pool,
    *,
    start: datetime | None,
    end: datetime | None,
    by: str | None,
    owner_id: str | None,
    pipeline: str | None,
    grade: str | None,
    as_of: datetime | None,
) -> dict[str, Any]:
    moment = as_of or now()
    args = (moment, start, end, owner_id, pipeline, grade)
    until = moment if end is None or end > moment else end
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        totals = _group(await conn.fetch(_BY_COLUMN, *args, None))
        grouped = None
        if by == "competitor":
            grouped = await conn.fetch(_BY_COMPETITOR, *args)
        elif by is not None:
            grouped = await conn.fetch(_BY_COLUMN, *args, by)
        open_deals = await conn.fetch(_OPEN_DEALS, until, owner_id, pipeline, grade)
    total = _figures(totals.get(None, []))
    body: dict[str, Any] = {
        "as_of": rfc3339(moment),
        "from": rfc3339(start),
        "to": rfc3339(end),
        "filters": {"owner_id": owner_id, "pipeline": pipeline, "grade": grade},
        "by": by,
        "totals": total,
        "velocity": _velocity(totals.get(None, []), open_deals, total),
    }
    if grouped is not None:
        groups = _group(grouped)
        body["groups"] = [
            {"key": _label(rows), **_figures(rows)}
            for _key, rows in sorted(groups.items(), key=lambda kv: (kv[0] is None, kv[0] or ""))
        ]
    return body


def _group(rows: list[asyncpg.Record]) -> dict[Any, list[asyncpg.Record]]:
    out: dict[Any, list[asyncpg.Record]] = {}
    for r in rows:
        out.setdefault(r["key"], []).append(r)
    return out


def _label(rows: list[asyncpg.Record]) -> str | None:
    return min(r.get("label", r["key"]) or "" for r in rows) or None


def _figures(rows: list[asyncpg.Record]) -> dict[str, Any]:
    count = {"won": 0, "lost": 0}
    cycle = {"won": ZERO, "lost": ZERO}
    amounts: dict[str, dict[str, Decimal]] = {}
    for r in rows:
        count[r["outcome"]] += r["n"]
        cycle[r["outcome"]] += r["cycle_seconds"]
        per = amounts.setdefault(r["currency"], {"won": ZERO, "lost": ZERO, "won_n": ZERO})
        per[r["outcome"]] += r["amount"]
        if r["outcome"] == "won":
            per["won_n"] += r["n"]
    won, lost = count["won"], count["lost"]
    return {
        "won": won,
        "lost": lost,
        "win_rate": ratio(won, won + lost),
        "amounts": [
            {
                "currency": c,
                "won_amount": money(a["won"]),
                "lost_amount": money(a["lost"]),
                "win_rate_by_amount": ratio(a["won"], a["won"] + a["lost"]),
                "average_won_amount": money(a["won"] / a["won_n"]) if a["won_n"] else None,
            }
            for c, a in sorted(amounts.items())
        ],
        "average_cycle_days": days((cycle["won"] + cycle["lost"]) / (won + lost))
        if won + lost
        else None,
        "average_won_cycle_days": days(cycle["won"] / won) if won else None,
    }


def _velocity(
    rows: list[asyncpg.Record], open_deals: list[asyncpg.Record], total: dict[str, Any]
) -> list[dict[str, Any]]:
    won = [r for r in rows if r["outcome"] == "won"]
    won_n = sum(r["n"] for r in won)
    cycle_days = (
        sum((r["cycle_seconds"] for r in won), ZERO) / won_n / DAY_SECONDS if won_n else None
    )
    rate = Decimal(won_n) / Decimal(total["won"] + total["lost"]) if won_n else ZERO
    by_currency: dict[str, list[Decimal]] = {}
    for r in won:
        acc = by_currency.setdefault(r["currency"], [ZERO, ZERO])
        acc[0] += r["amount"]
        acc[1] += r["n"]
    out = []
    for r in sorted(open_deals, key=lambda r: r["currency"]):
        amount, n = by_currency.get(r["currency"], [ZERO, ZERO])
        average = amount / n if n else None
        per_day = None
        if average is not None and cycle_days:
            per_day = r["deals"] * average * rate / cycle_days
        out.append(
            {
                "currency": r["currency"],
                "open_deals": r["deals"],
                "average_won_amount": money(average),
                "win_rate": total["win_rate"],
                "average_cycle_days": None if cycle_days is None else round(float(cycle_days), 1),
                "per_day": money(per_day),
            }
        )
    return out
