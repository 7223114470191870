"""/deals/{id}/…: stage moves, forecast, competitors, win, loss, reopen, change orders, close.

Every route takes ``If-Match: "<version>"`` (428 without, 412 when stale) and answers
the deal after the command with its new ETag. Lost and closed deals refuse everything
but a manager's reopen (409 ``deal-closed``).
"""

from __future__ import annotations

from functools import partial
from typing import Annotated
from uuid import UUID, uuid4

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse

from services.deals.domain import (
    AddChangeOrder,
    AddCompetitor,
    ChangeStage,
    ClearForecastOverride,
    CloseDeal,
    LoseDeal,
    OverrideForecast,
    RemoveCompetitor,
    ReopenDeal,
    WinDeal,
)
from shared.http.auth import WriterDep

from .deals import COMMAND
from .deps import StoreDep
from .run import on_deal
from .schemas import (
    ChangeOrderCreate,
    CompetitorCreate,
    DealClose,
    DealLoss,
    DealReopen,
    DealWin,
    ForecastOverride,
    SafeText,
    StageChange,
)

router = APIRouter(tags=["deals"])


@router.post("/deals/{deal_id}/stage", **COMMAND)
async def change_stage(
    deal_id: UUID, body: StageChange, request: Request, principal: WriterDep, store: StoreDep
) -> JSONResponse:
    """Forward one stage; back any number with a reason; skipping needs a manager's
    ``override`` and a reason. An unmet gate is a 409 whose ``missing`` lists what is
    lacking."""
    make = partial(
        ChangeStage, deal_id=deal_id, to=body.to, reason=body.reason, override=body.override
    )
    return await on_deal(request, principal, store, deal_id, body, make, reason=body.reason)


@router.post("/deals/{deal_id}/forecast", **COMMAND)
async def override_forecast(
    deal_id: UUID, body: ForecastOverride, request: Request, principal: WriterDep, store: StoreDep
) -> JSONResponse:
    """Assert a forecast category and/or probability over the stage's defaults."""
    make = partial(
        OverrideForecast,
        deal_id=deal_id,
        category=body.category,
        probability=body.probability,
        reason=body.reason,
    )
    return await on_deal(request, principal, store, deal_id, body, make, reason=body.reason)


@router.delete("/deals/{deal_id}/forecast", **COMMAND)
async def clear_forecast(
    deal_id: UUID,
    request: Request,
    principal: WriterDep,
    store: StoreDep,
    reason: Annotated[SafeText | None, Query(max_length=4000)] = None,
) -> JSONResponse:
    """Drop the assertions (and any conflict): the forecast follows the stage again."""
    make = partial(ClearForecastOverride, deal_id=deal_id, reason=reason)
    return await on_deal(request, principal, store, deal_id, None, make, reason=reason)


@router.post("/deals/{deal_id}/competitors", **COMMAND)
async def add_competitor(
    deal_id: UUID, body: CompetitorCreate, request: Request, principal: WriterDep, store: StoreDep
) -> JSONResponse:
    """Add a competitor, or update the one with the same name."""
    make = partial(AddCompetitor, deal_id=deal_id, **dict(body))
    return await on_deal(request, principal, store, deal_id, body, make)


@router.delete("/deals/{deal_id}/competitors/{name}", **COMMAND)
async def remove_competitor(
    deal_id: UUID,
    name: Annotated[SafeText, Path(max_length=200)],
    request: Request,
    principal: WriterDep,
    store: StoreDep,
) -> JSONResponse:
    make = partial(RemoveCompetitor, deal_id=deal_id, name=name)
    return await on_deal(request, principal, store, deal_id, None, make)


@router.post("/deals/{deal_id}/win", **COMMAND)
async def win_deal(
    deal_id: UUID, body: DealWin, request: Request, principal: WriterDep, store: StoreDep
) -> JSONResponse:
    """Won from negotiation with an accepted quote: the contract value is its total and
    the deal moves to the won stage (implementation)."""
    make = partial(WinDeal, deal_id=deal_id, **dict(body))
    return await on_deal(request, principal, store, deal_id, body, make)


@router.post("/deals/{deal_id}/loss", **COMMAND)
async def lose_deal(
    deal_id: UUID, body: DealLoss, request: Request, principal: WriterDep, store: StoreDep
) -> JSONResponse:
    """Lost from any open stage, with a cause and the stage summary report."""
    make = partial(LoseDeal, deal_id=deal_id, **dict(body))
    return await on_deal(request, principal, store, deal_id, body, make, reason=body.summary)


@router.post("/deals/{deal_id}/reopen", **COMMAND)
async def reopen_deal(
    deal_id: UUID, body: DealReopen, request: Request, principal: WriterDep, store: StoreDep
) -> JSONResponse:
    """A manager reopens a lost (or closed) deal in the stage it ended in."""
    make = partial(ReopenDeal, deal_id=deal_id, reason=body.reason)
    return await on_deal(request, principal, store, deal_id, body, make, reason=body.reason)


@router.post("/deals/{deal_id}/change-orders", **COMMAND)
async def add_change_order(
    deal_id: UUID,
    body: ChangeOrderCreate,
    request: Request,
    principal: WriterDep,
    store: StoreDep,
) -> JSONResponse:
    """A scope change during implementation (合同变更): revises the contract value."""
    make = partial(
        AddChangeOrder,
        deal_id=deal_id,
        change_order_id=body.change_order_id or uuid4(),
        description=body.description,
        amount_delta=body.amount_delta,
    )
    return await on_deal(request, principal, store, deal_id, body, make)


@router.post("/deals/{deal_id}/close", **COMMAND)
async def close_deal(
    deal_id: UUID, body: DealClose, request: Request, principal: WriterDep, store: StoreDep
) -> JSONResponse:
    """Acceptance and project closure (工程验收和项目结项)."""
    make = partial(CloseDeal, deal_id=deal_id, **dict(body))
    return await on_deal(request, principal, store, deal_id, body, make)
