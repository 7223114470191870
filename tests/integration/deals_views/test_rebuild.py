"""The view projections are pure functions of the events: rebuilt from event zero they
hold what the live ones built batch by batch, and the pipeline totals agree with the
per-deal history however the feed interleaves business times."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from services.deals.domain import LossCause, OverrideForecast, ReopenDeal, Role, UpdateDeal
from services.deals.projections.views import view_projections
from shared.projections import rebuild

from .desk import ACCOUNT_A, ACCOUNT_B, Desk, day
from .scenario import build

SNAPSHOTS = {
    "deal_state_history": "select * from deal_state_history order by deal_id, valid_from",
    "deal_stage_visits": "select * from deal_stage_visits order by deal_id, seq",
    "deal_stage_funnel": "select * from deal_stage_funnel order by deal_id, stage",
    "outcome_deals": "select * from outcome_deals order by deal_id",
    "deal_outcomes": "select * from deal_outcomes order by deal_id, seq",
}
# Deltas that cancel out within one batch leave no row; across two batches, a zero row.
TOTALS = {
    "pipeline_changes": """
        select * from pipeline_changes where deals <> 0 or amount <> 0 or entered_epoch <> 0
        order by at, pipeline, stage, currency""",
    "pipeline_tree": """
        select * from pipeline_tree where deals <> 0 or amount <> 0 or entered_epoch <> 0
        order by node, pipeline, stage, currency""",
}


async def snapshot(views) -> dict[str, Any]:
    tables = SNAPSHOTS | TOTALS
    return {
        name: [tuple(r) for r in await views.runtime.pool.fetch(sql)]
        for name, sql in tables.items()
    }


async def test_rebuilt_projections_equal_the_live_ones(views, migrated_db) -> None:
    await build(views.desk)
    await views.catch_up(batch_size=7)  # many small batches
    live = await snapshot(views)

    for projection in view_projections():
        report = await rebuild(views.runtime.store, migrated_db, "deals", projection)
        assert report.events > 0

    assert await snapshot(views) == live


async def random_book(desk: Desk, rng: random.Random) -> None:
    """Twenty deals with random stories; their commands are sent in random order across
    deals (each deal's own in time order), so the feed does not follow business time."""
    stories = []
    for n in range(20):
        t = day(rng.uniform(0, 20))
        owner = rng.choice(["rep-a", "rep-b"])
        steps = [("open", t, owner)]
        for _ in range(rng.randint(1, 6)):
            t += timedelta(hours=rng.uniform(1, 200))
            steps.append((rng.choice(["advance", "amount", "close", "forecast", "lose"]), t, n))
        stories.append(steps)
    deals: dict[int, Any] = {}
    while any(stories):
        steps = rng.choice([s for s in stories if s])
        kind, t, arg = steps.pop(0)
        if kind == "open":
            account = rng.choice([ACCOUNT_A, ACCOUNT_B])
            deals[id(steps)] = await desk.open(
                t, owner=arg, account=account, amount=str(rng.randint(1, 90) * 1000)
            )
            continue
        deal = deals[id(steps)]
        state = desk.deals[deal]
        if str(state.status) != "open":
            if kind == "lose":
                await desk.do(deal, ReopenDeal, t, Role.MANAGER, "mgr-1", reason="again")
            continue
        if kind == "advance" and state.stage != "negotiation":
            order = ["prospecting", "initiation", "proposal", "tender", "negotiation"]
            await desk.advance(deal, order[order.index(state.stage) + 1], t)
        elif kind == "amount":
            await desk.do(deal, UpdateDeal, t, amount=Decimal(rng.randint(1, 90) * 1000))
        elif kind == "close":
            await desk.do(
                deal, UpdateDeal, t, expected_close_date=date(2026, 2, rng.randint(1, 28))
            )
        elif kind == "forecast":
            await desk.do(
                deal, OverrideForecast, t, probability=Decimal(rng.randint(0, 100)), reason="x"
            )
        elif kind == "lose":
            await desk.lose(deal, t, LossCause.OTHER)


async def test_pipeline_totals_match_the_per_deal_history_at_every_moment(views) -> None:
    await random_book(views.desk, random.Random(20260105))
    await views.execute(
        "insert into account_directory (account_id, name, grade, archived)"
        " values ($1, 'A', 'A', false), ($2, 'B', 'A', false)",
        ACCOUNT_A,
        ACCOUNT_B,
    )
    await views.catch_up(batch_size=5)

    for hours in [*range(0, 40 * 24, 29), None]:  # None: live
        as_of = {} if hours is None else {"as_of": (day(0) + timedelta(hours=hours)).isoformat()}
        from_totals = await views.get("/views/pipeline", **as_of)
        per_deal = await views.get("/views/pipeline", grade="A", **as_of)  # every account
        assert from_totals["pipelines"] == per_deal["pipelines"], as_of
        assert from_totals["totals"] == per_deal["totals"], as_of
        by_owner = [await views.get("/views/pipeline", owner_id=o, **as_of) for o in OWNERS]
        assert summed(v["totals"] for v in by_owner) == summed([from_totals["totals"]]), as_of


OWNERS = ("rep-a", "rep-b")


def summed(totals: Any) -> dict[str, tuple]:
    out: dict[str, tuple] = {}
    for per_currency in totals:
        for t in per_currency:
            n, a, w = out.get(t["currency"], (0, Decimal(0), Decimal(0)))
            out[t["currency"]] = (
                n + t["deals"],
                a + Decimal(t["amount"]),
                w + Decimal(t["weighted_amount"]),
            )
    return out
