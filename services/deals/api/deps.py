"""Dependencies and helpers of the deals routes: pool, store, admins, command context."""

from __future__ import annotations

from typing import Annotated, Any

import asyncpg
from fastapi import Depends, Query, Request
from pydantic import BaseModel

from services.deals.repository import StateCache
from shared.eventstore import EventStore
from shared.http.auth import Principal, Role, require_roles
from shared.http.commands import CommandContext, command_context

from .schemas import Instant


# ``async`` although they never wait: FastAPI runs a plain ``def`` dependency in a
# worker thread, a hop that costs more than the lookup itself.
async def get_pool(request: Request) -> asyncpg.Pool:
    return request.app.state.runtime.pool


async def get_store(request: Request) -> EventStore:
    return request.app.state.runtime.store


STATES = "deal_states"


async def get_states(request: Request) -> StateCache | None:
    return request.app.state.runtime.extras.get(STATES)


PoolDep = Annotated[asyncpg.Pool, Depends(get_pool)]
StatesDep = Annotated[StateCache | None, Depends(get_states)]
StoreDep = Annotated[EventStore, Depends(get_store)]
AdminDep = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
Version = Annotated[int | None, Query(ge=1, le=2**31 - 1, description="read as of this version")]
AsOf = Annotated[Instant | None, Query(description="read as of this moment (RFC 3339)")]


async def context(
    request: Request,
    principal: Principal,
    body: BaseModel | None = None,
    *,
    create: bool = False,
    reason: str | None = None,
) -> CommandContext:
    """The command context: a create needs no If-Match, every other command does."""
    payload: Any = None if body is None else body.model_dump(mode="json")
    return await command_context(
        request, principal, payload, require_if_match=not create, reason=reason
    )
