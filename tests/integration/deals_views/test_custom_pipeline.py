"""Views of an admin-defined pipeline follow its definition (from the pipelines read model):
stage order and names, stall limits."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from services.deals.domain import ForecastCategory, Pipeline, Stage
from shared.serde import to_data

from .desk import day

SOLAR = Pipeline(
    code="solar",
    name="Rooftop solar",
    name_zh="屋顶光伏",
    stages=tuple(
        Stage(
            code=code,
            name=name,
            name_zh=name,
            probability=Decimal(pct),
            forecast_category=ForecastCategory.PIPELINE,
            stall_limit_days=stall,
        )
        for code, name, pct, stall in (
            ("survey", "Site survey", 10, 5),
            ("design", "Design", 50, 60),
            ("contract", "Contract", 100, None),
        )
    ),
    won_stage="contract",
    max_discount_pct=Decimal(10),
    min_margin_pct=Decimal(10),
)


async def test_stage_order_names_and_stall_limits_come_from_the_definition(views) -> None:
    await views.execute(
        "insert into pipelines (code, name, definition, version, defined_at, updated_at)"
        " values ($1, $2, $3, 1, $4, $4)",
        SOLAR.code,
        SOLAR.name,
        to_data(SOLAR),
        datetime(2026, 1, 1, tzinfo=UTC),
    )
    first = await views.desk.open(day(0), pipeline=SOLAR)
    second = await views.desk.open(day(0), pipeline=SOLAR)
    await views.desk.to(second, "design", day(1))
    await views.catch_up()

    pipeline = await views.get("/views/pipeline", pipeline="solar", as_of=day(10).isoformat())
    funnel = await views.get("/views/funnel", pipeline="solar", as_of=day(10).isoformat())
    stalled = await views.get("/views/stalled", as_of=day(10).isoformat())

    (solar,) = pipeline["pipelines"]
    assert [(s["stage"], s["name"], s["deals"]) for s in solar["stages"]] == [
        ("survey", "Site survey", 1),
        ("design", "Design", 1),
    ]
    assert [(s["stage"], s["entered"], s["went_on"]) for s in funnel["stages"]] == [
        ("survey", 2, 1),
        ("design", 1, 0),
        ("contract", 0, None),
    ]
    # 10 days in survey is past its 5-day limit; design allows 60
    assert [i["deal_id"] for i in stalled["items"]] == [str(first)]
