"""/touches: log a contact touch (客户接触记录) and read one."""

from __future__ import annotations

from uuid import UUID, uuid4

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from services.accounts import handlers
from services.accounts.domain.commands import LogTouch
from services.accounts.domain.touch import Touch
from shared.http.auth import PrincipalDep, WriterDep
from shared.http.commands import Reply, command_context
from shared.http.conditional import etag

from .deps import StoreDep, actor
from .present import touch_public
from .schemas import TouchCreate, TouchPublic

router = APIRouter(tags=["touches"])


def _created(state: Touch, version: int) -> Reply:
    return Reply(
        201, touch_public(state, version), {"Location": f"/touches/{state.id}"}, json_ready=True
    )


@router.post(
    "/touches", status_code=201, response_model=None, responses={201: {"model": TouchPublic}}
)
async def log_touch(
    body: TouchCreate, request: Request, principal: WriterDep, store: StoreDep
) -> JSONResponse:
    """Log a visit, call, meeting, demo, site visit, e-mail or dinner with contacts of one
    account; whoever logs it is the one who had it. A touch is never changed afterwards."""
    ctx = await command_context(request, principal, body, require_if_match=False)
    command = LogTouch(
        touch_id=uuid4(),
        account_id=body.account_id,
        contact_ids=tuple(body.contact_ids),
        channel=body.channel,
        occurred_at=body.occurred_at,
        summary=body.summary,
        deal_id=body.deal_id,
        next_step=body.next_step,
        next_step_due=body.next_step_due,
        **actor(principal, store),
    )
    return await handlers.log_touch(store, ctx, command, _created)


@router.get("/touches/{touch_id}", response_model=TouchPublic)
async def read_touch(
    touch_id: UUID, principal: PrincipalDep, store: StoreDep, response: Response
) -> dict:
    loaded = await handlers.read(store, handlers.TOUCH, str(touch_id))
    response.headers["ETag"] = etag(loaded.version)
    return touch_public(loaded.state, loaded.version)
