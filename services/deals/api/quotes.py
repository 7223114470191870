"""/deals/{id}/quotes: issue, revise, approve, reject, send, accept; read versions and diffs.

Quotes live in the deal's stream: every command takes the deal's ``If-Match`` and
answers the quote with the deal's new ETag.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Annotated
from uuid import UUID, uuid4

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from services.deals import handlers
from services.deals.domain import (
    AcceptQuote,
    ApproveQuote,
    Deal,
    IssueQuote,
    RejectQuote,
    ReviseQuote,
    SendQuote,
    diff,
)
from shared.http.auth import PrincipalDep, WriterDep
from shared.http.commands import Reply
from shared.http.conditional import etag

from . import present
from .deps import AsOf, StoreDep, Version
from .run import on_deal
from .schemas import (
    QuoteApproval,
    QuoteCreate,
    QuoteDiffPublic,
    QuoteList,
    QuotePublic,
    QuoteRejection,
    QuoteRevision,
)

router = APIRouter(tags=["quotes"])

QUOTE_REPLY = {"model": QuotePublic, "description": "The quote; ETag: the deal's version"}
COMMAND = {"response_model": None, "responses": {200: QUOTE_REPLY}}
VersionNumber = Annotated[int, Query(ge=1, le=100_000)]


def _quote_reply(quote_id: UUID, status: int = 200) -> Callable[[Deal, int], Reply]:
    def respond(state: Deal, _version: int) -> Reply:
        headers = {"Location": f"/deals/{state.id}/quotes/{quote_id}"} if status == 201 else {}
        body = present.quote_public(state.id, state.quote(quote_id))
        return Reply(status, body, headers, json_ready=True)

    return respond


@router.post(
    "/deals/{deal_id}/quotes", status_code=201, response_model=None, responses={201: QUOTE_REPLY}
)
async def issue_quote(
    deal_id: UUID, body: QuoteCreate, request: Request, principal: WriterDep, store: StoreDep
) -> JSONResponse:
    """A new quote (version 1) with computed totals and gross margin; it needs a
    manager's approval when a line's discount is above the pipeline's limit or the
    margin below its floor (``approval_required``)."""
    quote_id = body.quote_id or uuid4()
    make = partial(
        IssueQuote,
        deal_id=deal_id,
        quote_id=quote_id,
        currency=body.currency,
        lines=tuple(line.to_domain() for line in body.lines),
        valid_until=body.valid_until,
    )
    respond = _quote_reply(quote_id, 201)
    return await on_deal(request, principal, store, deal_id, body, make, respond=respond)


@router.post("/deals/{deal_id}/quotes/{quote_id}/revisions", **COMMAND)
async def revise_quote(
    deal_id: UUID,
    quote_id: UUID,
    body: QuoteRevision,
    request: Request,
    principal: WriterDep,
    store: StoreDep,
) -> JSONResponse:
    """A price revision: a new version of the same quote (approval again when needed)."""
    make = partial(
        ReviseQuote,
        deal_id=deal_id,
        quote_id=quote_id,
        lines=tuple(line.to_domain() for line in body.lines),
        valid_until=body.valid_until,
        reason=body.reason,
    )
    respond = _quote_reply(quote_id)
    return await on_deal(
        request, principal, store, deal_id, body, make, reason=body.reason, respond=respond
    )


@router.post("/deals/{deal_id}/quotes/{quote_id}/approve", **COMMAND)
async def approve_quote(
    deal_id: UUID,
    quote_id: UUID,
    request: Request,
    principal: WriterDep,
    store: StoreDep,
    body: QuoteApproval | None = None,
) -> JSONResponse:
    """A manager approves the quote's latest version."""
    note = body.note if body else None
    make = partial(ApproveQuote, deal_id=deal_id, quote_id=quote_id, note=note)
    respond = _quote_reply(quote_id)
    return await on_deal(request, principal, store, deal_id, body, make, respond=respond)


@router.post("/deals/{deal_id}/quotes/{quote_id}/reject", **COMMAND)
async def reject_quote(
    deal_id: UUID,
    quote_id: UUID,
    body: QuoteRejection,
    request: Request,
    principal: WriterDep,
    store: StoreDep,
) -> JSONResponse:
    """A manager rejects the quote's latest version, with a reason."""
    make = partial(RejectQuote, deal_id=deal_id, quote_id=quote_id, reason=body.reason)
    respond = _quote_reply(quote_id)
    return await on_deal(
        request, principal, store, deal_id, body, make, reason=body.reason, respond=respond
    )


@router.post("/deals/{deal_id}/quotes/{quote_id}/send", **COMMAND)
async def send_quote(
    deal_id: UUID, quote_id: UUID, request: Request, principal: WriterDep, store: StoreDep
) -> JSONResponse:
    """Send the quote to the customer: only when approved or needing no approval."""
    make = partial(SendQuote, deal_id=deal_id, quote_id=quote_id)
    respond = _quote_reply(quote_id)
    return await on_deal(request, principal, store, deal_id, None, make, respond=respond)


@router.post("/deals/{deal_id}/quotes/{quote_id}/accept", **COMMAND)
async def accept_quote(
    deal_id: UUID, quote_id: UUID, request: Request, principal: WriterDep, store: StoreDep
) -> JSONResponse:
    """The customer accepted the quote; a quote accepted before is superseded."""
    make = partial(AcceptQuote, deal_id=deal_id, quote_id=quote_id)
    respond = _quote_reply(quote_id)
    return await on_deal(request, principal, store, deal_id, None, make, respond=respond)


@router.get("/deals/{deal_id}/quotes", response_model=QuoteList)
async def list_quotes(
    deal_id: UUID,
    principal: PrincipalDep,
    store: StoreDep,
    response: Response,
    as_of: AsOf = None,
    version: Version = None,
) -> dict:
    """Every quote of the deal with all its versions."""
    loaded, _ = await handlers.read_deal(store, deal_id, version=version, as_of=as_of)
    response.headers["ETag"] = etag(loaded.version)
    return {"items": [present.quote_public(deal_id, q) for q in loaded.state.quotes]}


@router.get("/deals/{deal_id}/quotes/{quote_id}", response_model=QuotePublic)
async def read_quote(
    deal_id: UUID,
    quote_id: UUID,
    principal: PrincipalDep,
    store: StoreDep,
    response: Response,
    as_of: AsOf = None,
    version: Version = None,
) -> dict:
    """One quote with every version (each stays readable)."""
    loaded, _ = await handlers.read_deal(store, deal_id, version=version, as_of=as_of)
    response.headers["ETag"] = etag(loaded.version)
    return present.quote_public(deal_id, loaded.state.quote(quote_id))


@router.get("/deals/{deal_id}/quotes/{quote_id}/diff", response_model=QuoteDiffPublic)
async def quote_diff(
    deal_id: UUID,
    quote_id: UUID,
    principal: PrincipalDep,
    store: StoreDep,
    frm: Annotated[int, Query(alias="from", ge=1, le=100_000)],
    to: VersionNumber,
) -> dict:
    """What changed between two versions, line by line (price, discount, quantity,
    margin) and in the totals."""
    loaded, _ = await handlers.read_deal(store, deal_id)
    return present.diff_public(diff(loaded.state.quote(quote_id), frm, to))
