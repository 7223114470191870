"""Every figure of the pipeline, forecast, funnel and win/loss views on a known book.

The book (scenario.py) runs over January 2026; "as of day 16" (21 Jan, 09:00 UTC)
D1 is still in negotiation, D2 and D5 are lost, D3/D4/D6 are open.
"""

from __future__ import annotations

from typing import Any

from .desk import ACCOUNT_A, ACCOUNT_B, day
from .scenario import build

DAY16 = day(16).isoformat()


def stages(view: dict[str, Any]) -> list[tuple]:
    (pipeline,) = view["pipelines"]
    return [
        (
            s["stage"],
            s["deals"],
            s["average_days_in_stage"],
            [(a["currency"], a["deals"], a["amount"], a["weighted_amount"]) for a in s["amounts"]],
        )
        for s in pipeline["stages"]
    ]


def totals(view: dict[str, Any]) -> list[tuple]:
    return [(t["currency"], t["deals"], t["amount"], t["weighted_amount"]) for t in view["totals"]]


async def test_pipeline_by_stage_as_of_a_day(views) -> None:
    await build(views.desk)
    await views.catch_up()

    view = await views.get("/views/pipeline", as_of=DAY16)

    assert view["as_of"] == "2026-01-21T09:00:00Z"
    assert stages(view) == [
        ("prospecting", 0, None, []),
        ("initiation", 0, None, []),
        ("proposal", 1, 12.0, [("USD", 1, "70000.00", "28000.00")]),
        ("tender", 1, 2.0, [("CNY", 1, "200000.00", "150000.00")]),  # 75% asserted
        ("negotiation", 2, 5.5, [("CNY", 2, "180000.00", "144000.00")]),  # D1 4 d, D6 7 d
    ]
    assert totals(view) == [
        ("CNY", 3, "380000.00", "294000.00"),
        ("USD", 1, "70000.00", "28000.00"),
    ]


async def test_pipeline_filters_by_owner_pipeline_and_grade(views) -> None:
    await build(views.desk)
    await views.execute(
        "insert into account_directory (account_id, name, grade, archived)"
        " values ($1, 'A corp', 'A', false), ($2, 'B corp', 'B', false)",
        ACCOUNT_A,
        ACCOUNT_B,
    )
    await views.catch_up()

    rep_b = await views.get("/views/pipeline", as_of=DAY16, owner_id="rep-b")
    grade_a = await views.get("/views/pipeline", as_of=DAY16, grade="A")
    other = await views.get("/views/pipeline", as_of=DAY16, pipeline="showroom")

    assert totals(rep_b) == [("CNY", 1, "80000.00", "64000.00")]  # D6
    assert [s[:2] for s in stages(grade_a) if s[1]] == [("proposal", 1), ("negotiation", 1)]
    assert totals(grade_a) == [
        ("CNY", 1, "100000.00", "80000.00"),
        ("USD", 1, "70000.00", "28000.00"),
    ]
    assert other["totals"] == [] and other["pipelines"][0]["pipeline"] == "showroom"


async def test_forecast_by_expected_close_month(views) -> None:
    await build(views.desk)
    await views.catch_up()

    view = await views.get("/views/forecast", as_of=DAY16)

    months = [
        (m["month"], m["currency"], m["deals"], m["weighted"], m["best_case"], m["committed"])
        for m in view["months"]
    ]
    assert months == [
        ("2026-02", "CNY", 1, "150000.00", "200000.00", "0.00"),  # D4 in tender
        ("2026-03", "CNY", 2, "144000.00", "180000.00", "180000.00"),  # D1, D6 in negotiation
        (None, "USD", 1, "28000.00", "70000.00", "0.00"),  # D3, no close date
    ]
    assert view["months"][0]["by_category"]["best_case"] == "200000.00"
    assert view["months"][1]["by_category"]["commit"] == "180000.00"
    assert view["months"][2]["by_category"]["pipeline"] == "70000.00"
    assert [
        (t["currency"], t["deals"], t["weighted"], t["best_case"], t["committed"])
        for t in view["totals"]
    ] == [
        ("CNY", 3, "294000.00", "380000.00", "180000.00"),
        ("USD", 1, "28000.00", "70000.00", "0.00"),
    ]


def funnel_rows(view: dict[str, Any]) -> list[tuple]:
    return [
        (
            s["stage"],
            s["entered"],
            s["went_on"],
            s["conversion"],
            s["cumulative_conversion"],
            s["median_days"],
        )
        for s in view["stages"]
    ]


async def test_funnel_counts_skips_as_passed_and_back_moves_once(views) -> None:
    await build(views.desk)
    await views.catch_up()

    then = await views.get("/views/funnel", as_of=DAY16)
    live = await views.get("/views/funnel")

    assert funnel_rows(then) == [
        # D5 lost here; D3 skipped out of it (a forward exit): 5 of 6 went on
        ("prospecting", 6, 5, 0.8333, 0.8333, 2.0),
        # D3 passed through by the skip; D2 lost here
        ("initiation", 5, 4, 0.8, 0.6667, 2.0),
        # D4 went on at d8, came back at d11 and went on again: once
        ("proposal", 4, 3, 0.75, 0.5, 2.0),
        # D4's move back to proposal is no conversion
        ("tender", 3, 2, 0.6667, 0.3333, 2.0),
        ("negotiation", 2, 0, 0.0, 0.0, None),
        ("implementation", 0, None, None, None, None),
    ]
    assert funnel_rows(live)[4:] == [
        ("negotiation", 2, 1, 0.5, 0.1667, 8.0),  # D1 won after 8 days
        ("implementation", 1, None, None, None, None),
    ]


async def test_win_loss_totals_groups_and_velocity(views) -> None:
    await build(views.desk)
    await views.catch_up()

    live = await views.get("/views/win-loss", by="competitor")

    assert live["totals"] == {
        "won": 1,
        "lost": 2,
        "win_rate": 0.3333,
        "amounts": [
            {
                "currency": "CNY",
                "won_amount": "100000.00",
                "lost_amount": "80000.00",
                "win_rate_by_amount": 0.5556,
                "average_won_amount": "100000.00",
            }
        ],
        "average_cycle_days": 11.0,  # (20 + 9 + 4) / 3
        "average_won_cycle_days": 20.0,
    }
    groups = {g["key"]: (g["won"], g["lost"], g["win_rate"]) for g in live["groups"]}
    assert groups == {"Huawei": (1, 1, 0.5), None: (0, 1, 0.0)}
    # open now: D4 and D6 (CNY), D3 (USD); 2 × 100,000 × 1/3 ÷ 20 days
    assert [(v["currency"], v["open_deals"], v["per_day"]) for v in live["velocity"]] == [
        ("CNY", 2, "3333.33"),
        ("USD", 1, None),
    ]

    async def grouped(by: str, **params: Any) -> dict:
        view = await views.get("/views/win-loss", by=by, **params)
        return {g["key"]: (g["won"], g["lost"]) for g in view["groups"]}

    assert await grouped("cause") == {
        "lost_to_competitor": (0, 1),
        "not_shortlisted": (0, 1),
        None: (1, 0),
    }
    assert await grouped("stage") == {
        "initiation": (0, 1),
        "negotiation": (1, 0),
        "prospecting": (0, 1),
    }
    assert await grouped("owner") == {"rep-a": (1, 0), "rep-b": (0, 2)}
    assert await grouped("month") == {"2026-01": (1, 2)}
    await views.execute(
        "insert into account_directory (account_id, name, grade, archived)"
        " values ($1, 'A corp', 'A', false), ($2, 'B corp', 'B', false)",
        ACCOUNT_A,
        ACCOUNT_B,
    )
    assert await grouped("grade") == {"A": (1, 1), "B": (0, 1)}
    # the period [day 8, day 30) leaves D5 (lost day 7) out
    period = await views.get(
        "/views/win-loss", **{"from": day(8).isoformat(), "to": day(30).isoformat()}
    )
    assert (period["totals"]["won"], period["totals"]["lost"]) == (1, 1)
    # as of day 16 D1 had not been won yet
    then = await views.get("/views/win-loss", as_of=DAY16)
    assert (then["totals"]["won"], then["totals"]["lost"], then["totals"]["win_rate"]) == (
        0,
        2,
        0.0,
    )
    assert [v["per_day"] for v in then["velocity"]] == [None, None]
