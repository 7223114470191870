"""The stage conversion funnel of one pipeline, read from ``deal_stage_funnel``.

Rules (also in the endpoint's description):

- **entered**: deals that reached the stage — were in it at least once, or were
  carried past it by a skip (a manager's override): a skipped stage counts as passed
  through. Re-entries count once per deal.
- **went on**: deals that left the stage forward (advanced, skipped ahead, or were
  won from it) or were skipped past it. Moving back, being lost and closing are not
  conversions; a deal that moves back and forward again counts once.
- **conversion** = went on ÷ entered; **cumulative conversion** = went on ÷ entered
  of the first stage. The last stage has no next one: both are null there.
- **median days**: over the deals that went on from the stage after a stay in it
  (not the ones skipped past it), the time they spent in it, over all their stays,
  until they first went on.
- Population: every deal of the pipeline (optionally opened in [from, to), and of
  accounts of a grade), as known at ``as_of`` (default: everything recorded).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from .views_common import INFINITY, Catalog, days, now, ratio, rfc3339

_FUNNEL = """
select f.stage,
       count(*) filter (where f.reached_at <= $2) as entered,
       count(*) filter (where f.went_on_at <= $2) as went_on,
       percentile_cont(0.5) within group (order by f.spent_seconds)
           filter (where f.went_on_at <= $2 and f.went_on_by <> 'passed') as median_seconds
from deal_stage_funnel f
where f.pipeline = $1 and f.opened_at <= $2
  and ($3::timestamptz is null or f.opened_at >= $3)
  and ($4::timestamptz is null or f.opened_at < $4)
  and ($5::text is null or exists (
      select 1 from account_directory a where a.account_id = f.account_id and a.grade = $5))
group by f.stage
"""


async def funnel(
    pool: asyncpg.Pool,
    catalog: Catalog,
    pipeline: str,
    *,
    as_of: datetime | None,
    opened_from: datetime | None,
    opened_to: datetime | None,
    grade: str | None,
) -> dict[str, Any]:
    rows = {
        r["stage"]: r
        for r in await pool.fetch(
            _FUNNEL, pipeline, as_of or INFINITY, opened_from, opened_to, grade
        )
    }
    order = catalog.stage_codes(pipeline)
    # A pipeline the catalog does not know: deals reach earlier stages more often.
    extra = sorted((s for s in rows if s not in order), key=lambda s: (-rows[s]["entered"], s))
    order = order + extra
    first = rows[order[0]]["entered"] if order and order[0] in rows else 0
    stages = []
    for i, stage in enumerate(order):
        r = rows.get(stage)
        entered = r["entered"] if r else 0
        last = i == len(order) - 1
        went_on = None if last else (r["went_on"] if r else 0)
        stages.append(
            {
                "stage": stage,
                **catalog.stage_names(pipeline, stage),
                "entered": entered,
                "went_on": went_on,
                "conversion": None if last else ratio(went_on, entered),
                "cumulative_conversion": None if last else ratio(went_on, first),
                "median_days": days(r["median_seconds"]) if r else None,
            }
        )
    return {
        "as_of": rfc3339(as_of or now()),
        "pipeline": pipeline,
        "filters": {
            "from": rfc3339(opened_from),
            "to": rfc3339(opened_to),
            "grade": grade,
        },
        "stages": stages,
    }
