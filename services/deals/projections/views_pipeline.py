"""The pipeline and forecast views: open deals, live or as of a moment.

Pipeline: per pipeline and stage, the open deals' count, amount and weighted amount
per currency (currencies are never added together) and their average time in the
stage (exact, in days). Unfiltered (or by pipeline) it reads the pipeline totals (at
most a hundred rows per stage and currency: see ``views_rollup``), so it stays fast at any
number of deals, live or as of any moment. By owner or account grade (the accounts'
current grade) it sums those deals' rows in ``deal_state_history``.

Forecast: open deals by expected close month (UTC calendar month; deals without a
date last): weighted (Σ amount × probability, overrides included), best case (Σ
amount of every open deal), committed (Σ amount of the open deals in a stage whose
default forecast category is ``commit`` or later — negotiation in ``key-account``),
and the amounts by each deal's effective forecast category.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

import asyncpg

from . import views_rollup
from .views_common import DAY_SECONDS, ZERO, Catalog, epoch_seconds, money, now, rfc3339

# All owners: the tree nodes ($2) and the changes in [$3, $4] that sum to the totals at
# a moment (views_rollup.as_of_parts); live: the root node alone.
_TOTALS = """
select pipeline, stage, currency, sum(deals)::int as deals, sum(amount) as amount,
       sum(weighted_amount) as weighted, sum(entered_epoch) as entered
from (
    select pipeline, stage, currency, deals, amount, weighted_amount, entered_epoch
    from pipeline_tree
    where node = any($2::bigint[]) and ($1::text is null or pipeline = $1)
    union all
    select pipeline, stage, currency, deals, amount, weighted_amount, entered_epoch
    from pipeline_changes
    where at >= $3 and at <= $4 and ($1::text is null or pipeline = $1)
) parts
group by pipeline, stage, currency having sum(deals) > 0
"""
# One owner's or one grade's deals, from their state rows (live: the current ones).
_DEALS = """
select h.pipeline, h.stage, h.currency, count(*)::int as deals, sum(h.amount) as amount,
       sum(h.weighted_amount) as weighted, sum(extract(epoch from h.stage_entered_at)) as entered
from deal_state_history h
"""
_DEALS_FILTERS = """
  and h.status = 'open' and ($2::text is null or h.pipeline = $2)
  and ($3::text is null or exists (
      select 1 from account_directory a where a.account_id = h.account_id and a.grade = $3))
group by h.pipeline, h.stage, h.currency
"""
_OWNER_LIVE = _DEALS + "where h.owner_id = $1 and h.valid_to = 'infinity'" + _DEALS_FILTERS
_OWNER_AS_OF = (
    _DEALS
    + "where h.owner_id = $1 and h.valid_from <= $4 and h.valid_to > $4::timestamptz"
    + _DEALS_FILTERS
)
_GRADE = """
select h.pipeline, h.stage, h.currency, count(*)::int as deals, sum(h.amount) as amount,
       sum(h.weighted_amount) as weighted, sum(extract(epoch from h.stage_entered_at)) as entered
from deal_state_history h join account_directory a on a.account_id = h.account_id
"""
_GRADE_FILTERS = """
  and h.status = 'open' and a.grade = $2 and ($1::text is null or h.pipeline = $1)
group by h.pipeline, h.stage, h.currency
"""
_GRADE_LIVE = _GRADE + "where h.valid_to = 'infinity'" + _GRADE_FILTERS
_GRADE_AS_OF = (
    _GRADE + "where tstzrange(h.valid_from, h.valid_to) @> $3::timestamptz" + _GRADE_FILTERS
)
_FORECAST_COLUMNS = """
select to_char(h.expected_close_date, 'YYYY-MM') as month, h.currency, count(*)::int as deals,
       sum(h.weighted_amount) as weighted, sum(h.amount) as best_case,
       coalesce(sum(h.amount) filter (where h.suggested_category in ('commit', 'closed')), 0)
           as committed,
       coalesce(sum(h.amount) filter (where h.forecast_category = 'pipeline'), 0) as pipeline,
       coalesce(sum(h.amount) filter (where h.forecast_category = 'best_case'), 0) as best_case_c,
       coalesce(sum(h.amount) filter (where h.forecast_category = 'commit'), 0) as commit,
       coalesce(sum(h.amount) filter (where h.forecast_category = 'closed'), 0) as closed,
       coalesce(sum(h.amount) filter (where h.forecast_category = 'omitted'), 0) as omitted
from deal_state_history h
"""
_FORECAST_WHERE = """
  and h.status = 'open'
  and ($1::text is null or h.owner_id = $1) and ($2::text is null or h.pipeline = $2)
  and ($3::text is null or exists (
      select 1 from account_directory a where a.account_id = h.account_id and a.grade = $3))
group by 1, 2 order by 1 nulls last, 2
"""
_FORECAST_LIVE = _FORECAST_COLUMNS + "where h.valid_to = 'infinity'" + _FORECAST_WHERE
_FORECAST_AS_OF = (
    _FORECAST_COLUMNS
    + "where tstzrange(h.valid_from, h.valid_to) @> $4::timestamptz"
    + _FORECAST_WHERE
)
CATEGORIES = ("pipeline", "best_case", "commit", "closed", "omitted")


async def pipeline_view(
    pool: asyncpg.Pool,
    catalog: Catalog,
    *,
    owner_id: str | None,
    pipeline: str | None,
    grade: str | None,
    as_of: datetime | None,
) -> dict[str, Any]:
    if owner_id is not None and as_of is not None:
        rows = await pool.fetch(_OWNER_AS_OF, owner_id, pipeline, grade, as_of)
    elif owner_id is not None:
        rows = await pool.fetch(_OWNER_LIVE, owner_id, pipeline, grade)
    elif grade is not None and as_of is not None:
        rows = await pool.fetch(_GRADE_AS_OF, pipeline, grade, as_of)
    elif grade is not None:
        rows = await pool.fetch(_GRADE_LIVE, pipeline, grade)
    else:
        rows = await pool.fetch(_TOTALS, pipeline, *views_rollup.as_of_parts(as_of))
    moment = as_of or now()
    by_pipeline: dict[str, list[asyncpg.Record]] = defaultdict(list)
    for r in rows:
        by_pipeline[r["pipeline"]].append(r)
    codes = sorted(set(by_pipeline) | ({pipeline} if catalog.get(pipeline or "") else set()))
    return {
        "as_of": rfc3339(moment),
        "filters": {"owner_id": owner_id, "pipeline": pipeline, "grade": grade},
        "pipelines": [_pipeline(catalog, code, by_pipeline[code], moment) for code in codes],
        "totals": _totals(rows),
    }


def _pipeline(
    catalog: Catalog, code: str, rows: list[asyncpg.Record], moment: datetime
) -> dict[str, Any]:
    by_stage: dict[str, list[asyncpg.Record]] = defaultdict(list)
    for r in rows:
        by_stage[r["stage"]].append(r)
    order = catalog.open_stage_codes(code)
    order += sorted(s for s in by_stage if s not in order)
    p = catalog.get(code)
    stages = []
    for stage in order:
        found = by_stage.get(stage, [])
        deals = sum(r["deals"] for r in found)
        entered = sum((r["entered"] for r in found), ZERO)
        average = (epoch_seconds(moment) * deals - entered) / deals / DAY_SECONDS if deals else None
        stages.append(
            {
                "stage": stage,
                **catalog.stage_names(code, stage),
                "deals": deals,
                "average_days_in_stage": None if average is None else round(float(average), 1),
                "amounts": _totals(found),
            }
        )
    return {
        "pipeline": code,
        "name": p.name if p else None,
        "stages": stages,
        "totals": _totals(rows),
    }


def _totals(rows: list[asyncpg.Record]) -> list[dict[str, Any]]:
    """Count, amount and weighted amount per currency."""
    sums: dict[str, list[Any]] = {}
    for r in rows:
        acc = sums.setdefault(r["currency"], [0, ZERO, ZERO])
        acc[0] += r["deals"]
        acc[1] += r["amount"]
        acc[2] += r["weighted"]
    return [
        {"currency": c, "deals": n, "amount": money(a), "weighted_amount": money(w)}
        for c, (n, a, w) in sorted(sums.items())
    ]


async def forecast_view(
    pool: asyncpg.Pool,
    *,
    owner_id: str | None,
    pipeline: str | None,
    grade: str | None,
    as_of: datetime | None,
) -> dict[str, Any]:
    if as_of is None:
        rows = await pool.fetch(_FORECAST_LIVE, owner_id, pipeline, grade)
    else:
        rows = await pool.fetch(_FORECAST_AS_OF, owner_id, pipeline, grade, as_of)
    months = [
        {
            "month": r["month"],
            "currency": r["currency"],
            "deals": r["deals"],
            "weighted": money(r["weighted"]),
            "best_case": money(r["best_case"]),
            "committed": money(r["committed"]),
            "by_category": {
                c: money(r["best_case_c" if c == "best_case" else c]) for c in CATEGORIES
            },
        }
        for r in rows
    ]
    totals: dict[str, list[Any]] = {}
    for r in rows:
        acc = totals.setdefault(r["currency"], [0, ZERO, ZERO, ZERO])
        for i, name in enumerate(("deals", "weighted", "best_case", "committed")):
            acc[i] += r[name]
    return {
        "as_of": rfc3339(as_of or now()),
        "filters": {"owner_id": owner_id, "pipeline": pipeline, "grade": grade},
        "months": months,
        "totals": [
            {
                "currency": c,
                "deals": n,
                "weighted": money(w),
                "best_case": money(b),
                "committed": money(m),
            }
            for c, (n, w, b, m) in sorted(totals.items())
        ],
    }
