"""/deals: open, list, read (now or as of a moment / version), history, diff, change, 立项报告."""

from __future__ import annotations

from functools import partial
from typing import Annotated
from uuid import UUID, uuid4

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from services.deals import handlers
from services.deals.domain import Deal, DealStatus, OpenDeal, SubmitInitiationReport, UpdateDeal
from services.deals.projections import deal_list, directory, pipelines
from shared.http.auth import PrincipalDep, WriterDep
from shared.http.commands import Reply
from shared.http.conditional import etag
from shared.http.pagination import page

from . import diffs, paging, present
from .deps import AsOf, PoolDep, StatesDep, StoreDep, Version, context
from .run import on_deal
from .schemas import (
    Code,
    DealCreate,
    DealPage,
    DealPublic,
    DealUpdate,
    HistoryPage,
    InitiationReportPut,
    Instant,
    SafeText,
)
from .schemas.diffs import DealDiffPublic

router = APIRouter(tags=["deals"])

DEAL_REPLY = {"model": DealPublic, "description": "The deal after the command; ETag: its version"}
COMMAND = {"response_model": None, "responses": {200: DEAL_REPLY}}


def _created(state: Deal, version: int) -> Reply:
    body = present.deal_public(state, version)
    return Reply(201, body, {"Location": f"/deals/{state.id}"}, json_ready=True)


@router.post("/deals", status_code=201, response_model=None, responses={201: DEAL_REPLY})
async def open_deal(
    body: DealCreate,
    request: Request,
    principal: WriterDep,
    store: StoreDep,
    pool: PoolDep,
    states: StatesDep,
) -> JSONResponse:
    """Open a deal in the pipeline's first stage. The account must be known to the
    local account directory (from the accounts feed) and not archived, else 422."""
    ctx = await context(request, principal, body, create=True)
    command = OpenDeal(
        deal_id=uuid4(), account_id=body.account_id, title=body.title,
        owner_id=body.owner_id or principal.sub, pipeline=body.pipeline, amount=body.amount,
        currency=body.currency, expected_close_date=body.expected_close_date, source=body.source,
        **handlers.actor_fields(ctx, store),
    )  # fmt: skip
    return await handlers.open_deal(store, pool, ctx, command, _created, states)


@router.get("/deals", response_model=DealPage)
async def list_deals(
    request: Request,
    principal: PrincipalDep,
    store: StoreDep,
    pool: PoolDep,
    status: DealStatus | None = None,
    stage: Annotated[Code | None, Query()] = None,
    owner_id: Annotated[SafeText | None, Query(max_length=200)] = None,
    account_id: UUID | None = None,
    pipeline: Annotated[Code | None, Query()] = None,
    stalled: bool | None = None,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict:
    """Deals, newest first (from a projection: may trail the commands by up to ~50 ms).
    ``stalled``: open, with no stage change and no touch for longer than the stage's
    stall limit."""
    where = deal_list.DealFilter(
        status=status, stage=stage, owner_id=owner_id, account_id=account_id,
        pipeline=pipeline, stalled=stalled,
    )  # fmt: skip
    after = paging.decode(cursor, (paging.instant, paging.uuid))
    now = store.clock()
    limits = await pipelines.stall_limits(pool)
    rows, last = await deal_list.search(pool, where, limits, now, after, limit)
    return page([present.deal_summary(r, now) for r in rows], request, paging.encode(last))


@router.get("/deals/{deal_id}", response_model=DealPublic)
async def read_deal(
    deal_id: UUID,
    principal: PrincipalDep,
    store: StoreDep,
    pool: PoolDep,
    states: StatesDep,
    response: Response,
    as_of: AsOf = None,
    version: Version = None,
) -> dict:
    """The deal now, or as it was at ``as_of`` (business time: the times the deal shows)
    or ``version``. ETag: its version. Days in stage and stalled are reckoned at
    ``as_of`` (else now)."""
    loaded, pipeline = await handlers.read_deal(
        store, deal_id, version=version, as_of=as_of, states=states
    )
    touch = await directory.last_touch(pool, deal_id)
    if as_of is not None and touch is not None and touch > as_of:
        touch = None  # only the latest touch is kept: one after as_of did not exist yet
    response.headers["ETag"] = etag(loaded.version)
    return present.deal_public(
        loaded.state,
        loaded.version,
        now=as_of or store.clock(),
        pipeline=pipeline,
        last_touch_at=touch,
    )


@router.get("/deals/{deal_id}/history", response_model=HistoryPage)
async def deal_history(
    deal_id: UUID, principal: PrincipalDep, store: StoreDep, response: Response
) -> dict:
    """Every event of the deal: type, data, actor, role, reason, request id, time, version."""
    events = await handlers.history(store, deal_id)
    response.headers["ETag"] = etag(events[-1].version)
    return {
        "deal_id": str(deal_id),
        "version": events[-1].version,
        "items": [present.history_entry(e) for e in events],
    }


@router.get(
    "/deals/{deal_id}/diff",
    response_model=DealDiffPublic,
    summary="What changed between two moments, by whom and why",
)
async def deal_diff(
    deal_id: UUID,
    principal: PrincipalDep,
    store: StoreDep,
    start: Annotated[Instant | None, Query(alias="from", description="RFC 3339")] = None,
    end: Annotated[Instant | None, Query(alias="to", description="RFC 3339; default now")] = None,
    from_version: Annotated[int | None, Query(ge=0, le=2**31 - 1)] = None,
    to_version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> dict:
    """The deal at ``from`` and at ``to`` (folded from its events, by business time as
    for ``?as_of=``), every field that differs — ``stage``, ``amount``,
    ``initiation_report.project_name``, ``quotes[<quote id>].status``,
    ``competitors[<name>]`` … — each with the events that changed it (actor, role,
    reason), and the events in between (as in ``/history``). ``from`` and ``to`` are
    RFC 3339 with an offset; ``to`` defaults to now; ``from_version`` / ``to_version``
    may stand in for either. A deal that did not exist yet at ``from`` is compared from
    nothing (version 0). ``stalled`` and ``last_touch_at`` are not reckoned here (null)."""
    now = store.clock()
    frm, to = diffs.ends(start, end, from_version, to_version, now)
    events = await handlers.history(store, deal_id)
    return diffs.deal_diff(deal_id, events, frm, to, now)


@router.patch("/deals/{deal_id}", **COMMAND)
async def update_deal(
    deal_id: UUID, body: DealUpdate, request: Request, principal: WriterDep, store: StoreDep
) -> JSONResponse:
    """Title, amount, expected close date, next step and due date; the owner (manager)."""
    make = partial(UpdateDeal, deal_id=deal_id, **dict(body))
    return await on_deal(request, principal, store, deal_id, body, make)


@router.put("/deals/{deal_id}/initiation-report", **COMMAND)
async def put_initiation_report(
    deal_id: UUID,
    body: InitiationReportPut,
    request: Request,
    principal: WriterDep,
    store: StoreDep,
) -> JSONResponse:
    """The initiation report (立项报告), replaced whole; complete, it opens the gate to
    ``initiation``."""
    make = partial(SubmitInitiationReport, deal_id=deal_id, **dict(body))
    return await on_deal(request, principal, store, deal_id, body, make)
