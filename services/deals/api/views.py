"""GET /views/*: pipeline, forecast, stalled, win/loss, funnel, waterfall, time in stage.

Thin: parse and check the query, call the read model's query function, return JSON.
Each endpoint's description is its read model's docstring, where the rules live.
Every view takes ``as_of`` (RFC 3339 with an offset); without it a view shows the
current state. Money is a decimal string per currency (currencies are never added
together); days and rates are numbers. Any role may read.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request

from services.deals.projections import pipelines as defined_pipelines
from services.deals.projections import (
    views_funnel,
    views_pipeline,
    views_stages,
    views_stalled,
    views_waterfall,
    views_winloss,
)
from services.deals.projections.views_common import Catalog, rfc3339
from shared.http.auth import PrincipalDep
from shared.http.pagination import page
from shared.http.problems import Problem
from shared.http.service import Runtime, RuntimeDep

views_router = APIRouter(prefix="/views", tags=["views"])

AsOf = Annotated[
    datetime | None,
    Query(description="RFC 3339 moment with an offset, e.g. 2026-03-31T23:59:59Z; default now"),
]
Owner = Annotated[str | None, Query(max_length=200, description="owner (user id)")]
PipelineCode = Annotated[str | None, Query(max_length=100, description="pipeline code")]
Grade = Annotated[Literal["A", "B", "C", "D"] | None, Query(description="account grade")]
Moment = Annotated[datetime | None, Query(description="RFC 3339 moment with an offset")]


def _utc(value: datetime | None, name: str) -> datetime | None:
    """Aware moments only: a bare date or local time is ambiguous."""
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise Problem(
            422,
            "invalid-parameter",
            "Invalid query parameter",
            f"{name} must be an RFC 3339 time with an offset, e.g. 2026-03-31T00:00:00Z",
            parameter=name,
        )
    return value.astimezone(UTC)


def _period(start: Any, end: Any, names: tuple[str, str]) -> None:
    if start is not None and end is not None and start > end:
        raise Problem(
            422,
            "invalid-period",
            "Invalid period",
            f"{names[0]} ({start}) is after {names[1]} ({end})",
            parameters=list(names),
        )


CATALOG = "views.catalog"
CATALOG_SECONDS = 2.0


async def _catalog(runtime: Runtime) -> Catalog:
    """The presets and the admin-defined pipelines (stage order and names, stall limits),
    read at most every CATALOG_SECONDS per process: views stay one query."""
    cached = runtime.extras.get(CATALOG)
    if cached is not None and time.monotonic() - cached[0] < CATALOG_SECONDS:
        return cached[1]
    catalog = Catalog.of(p for p, _version in await defined_pipelines.custom(runtime.pool))
    runtime.extras[CATALOG] = (time.monotonic(), catalog)
    return catalog


@views_router.get("/pipeline", summary="Open pipeline by stage", description=views_pipeline.__doc__)
async def pipeline(
    runtime: RuntimeDep,
    _principal: PrincipalDep,
    owner_id: Owner = None,
    pipeline: PipelineCode = None,
    grade: Grade = None,
    as_of: AsOf = None,
) -> dict[str, Any]:
    return await views_pipeline.pipeline_view(
        runtime.pool,
        await _catalog(runtime),
        owner_id=owner_id,
        pipeline=pipeline,
        grade=grade,
        as_of=_utc(as_of, "as_of"),
    )


@views_router.get(
    "/forecast", summary="Forecast by expected close month", description=views_pipeline.__doc__
)
async def forecast(
    runtime: RuntimeDep,
    _principal: PrincipalDep,
    owner_id: Owner = None,
    pipeline: PipelineCode = None,
    grade: Grade = None,
    as_of: AsOf = None,
) -> dict[str, Any]:
    return await views_pipeline.forecast_view(
        runtime.pool, owner_id=owner_id, pipeline=pipeline, grade=grade, as_of=_utc(as_of, "as_of")
    )


@views_router.get("/stalled", summary="Stalled deals", description=views_stalled.__doc__)
async def stalled(
    request: Request,
    runtime: RuntimeDep,
    _principal: PrincipalDep,
    owner_id: Owner = None,
    pipeline: PipelineCode = None,
    grade: Grade = None,
    as_of: AsOf = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> dict[str, Any]:
    try:
        items, next_cursor, moment = await views_stalled.stalled_view(
            runtime.pool,
            await _catalog(runtime),
            owner_id=owner_id,
            pipeline=pipeline,
            grade=grade,
            as_of=_utc(as_of, "as_of"),
            cursor=cursor,
            limit=limit,
        )
    except views_stalled.BadCursorError as exc:
        raise Problem(400, "invalid-cursor", "Invalid cursor", str(exc)) from exc
    return {"as_of": rfc3339(moment), **page(items, request, next_cursor)}


@views_router.get(
    "/win-loss", summary="Win/loss and sales velocity", description=views_winloss.__doc__
)
async def win_loss(
    runtime: RuntimeDep,
    _principal: PrincipalDep,
    start: Annotated[Moment, Query(alias="from")] = None,
    end: Annotated[Moment, Query(alias="to")] = None,
    by: Annotated[views_winloss.By | None, Query(description="group by")] = None,
    owner_id: Owner = None,
    pipeline: PipelineCode = None,
    grade: Grade = None,
    as_of: AsOf = None,
) -> dict[str, Any]:
    start, end = _utc(start, "from"), _utc(end, "to")
    _period(start, end, ("from", "to"))
    return await views_winloss.win_loss_view(
        runtime.pool,
        start=start,
        end=end,
        by=by,
        owner_id=owner_id,
        pipeline=pipeline,
        grade=grade,
        as_of=_utc(as_of, "as_of"),
    )


@views_router.get("/funnel", summary="Stage conversion funnel", description=views_funnel.__doc__)
async def funnel(
    runtime: RuntimeDep,
    _principal: PrincipalDep,
    pipeline: Annotated[str, Query(max_length=100)] = "key-account",
    start: Annotated[Moment, Query(alias="from", description="deals opened from")] = None,
    end: Annotated[Moment, Query(alias="to", description="deals opened before")] = None,
    grade: Grade = None,
    as_of: AsOf = None,
) -> dict[str, Any]:
    start, end = _utc(start, "from"), _utc(end, "to")
    _period(start, end, ("from", "to"))
    return await views_funnel.funnel(
        runtime.pool,
        await _catalog(runtime),
        pipeline,
        as_of=_utc(as_of, "as_of"),
        opened_from=start,
        opened_to=end,
        grade=grade,
    )


@views_router.get("/waterfall", summary="Pipeline waterfall", description=views_waterfall.__doc__)
async def waterfall(
    runtime: RuntimeDep,
    _principal: PrincipalDep,
    start: Annotated[datetime, Query(alias="from", description="RFC 3339 moment")],
    end: Annotated[Moment, Query(alias="to", description="default: as_of, or now")] = None,
    close_from: Annotated[date | None, Query(description="expected close on or after")] = None,
    close_to: Annotated[date | None, Query(description="expected close on or before")] = None,
    pipeline: PipelineCode = None,
    grade: Grade = None,
    as_of: AsOf = None,
) -> dict[str, Any]:
    start = _utc(start, "from")
    end = _utc(end, "to") or _utc(as_of, "as_of") or datetime.now(UTC)
    _period(start, end, ("from", "to"))
    _period(close_from, close_to, ("close_from", "close_to"))
    return await views_waterfall.waterfall_view(
        runtime.pool,
        start=start,
        end=end,
        close_from=close_from,
        close_to=close_to,
        pipeline=pipeline,
        grade=grade,
    )


@views_router.get(
    "/time-in-stage", summary="Time in stage of a deal", description=views_stages.__doc__
)
async def time_in_stage(
    runtime: RuntimeDep,
    _principal: PrincipalDep,
    deal_id: Annotated[UUID, Query()],
    as_of: AsOf = None,
) -> dict[str, Any]:
    found = await views_stages.time_in_stage_of(
        runtime.pool, await _catalog(runtime), deal_id, _utc(as_of, "as_of")
    )
    if found is None:
        raise Problem(404, "deal-not-found", "Deal not found", f"no deal {deal_id} at that time")
    return found
