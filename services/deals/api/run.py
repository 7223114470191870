"""The one shape of a command route on an existing deal: context → command → handler."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from services.deals import handlers
from services.deals.domain import Deal
from shared.eventstore import EventStore
from shared.http.auth import Principal
from shared.http.commands import Reply

from . import present
from .deps import context, get_states


def deal_reply(state: Deal, version: int) -> Reply:
    return Reply(200, present.deal_public(state, version), json_ready=True)


async def on_deal(
    request: Request,
    principal: Principal,
    store: EventStore,
    deal_id: UUID,
    body: BaseModel | None,
    make: Callable[..., Any],
    *,
    reason: str | None = None,
    respond: Callable[[Deal, int], Reply] = deal_reply,
) -> JSONResponse:
    """Run ``make(actor_id=…, actor_role=…, at=…)`` on the deal (If-Match required)."""
    ctx = await context(request, principal, body, reason=reason)
    command = make(**handlers.actor_fields(ctx, store))
    states = await get_states(request)
    return await handlers.deal_command(store, ctx, deal_id, command, respond, states)
