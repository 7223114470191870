"""Dependencies of the accounts routes: keys, pool, supervisors, the acting principal."""

from __future__ import annotations

from typing import Annotated, Any

import asyncpg
from fastapi import Depends, Request

from services.accounts.domain.enums import Role as DomainRole
from shared.eventstore import EventStore
from shared.eventstore.crypto import KeyStore
from shared.http.auth import Principal, Role, require_roles

KEYS = "keys"


# ``async`` although they never wait: FastAPI runs a plain ``def`` dependency in a
# worker thread, a hop that costs more than the dependency itself.


async def get_keys(request: Request) -> KeyStore:
    return request.app.state.runtime.extras[KEYS]


async def get_pool(request: Request) -> asyncpg.Pool:
    return request.app.state.runtime.pool


async def get_store(request: Request) -> EventStore:
    return request.app.state.runtime.store


KeysDep = Annotated[KeyStore, Depends(get_keys)]
PoolDep = Annotated[asyncpg.Pool, Depends(get_pool)]
StoreDep = Annotated[EventStore, Depends(get_store)]
SupervisorDep = Annotated[Principal, Depends(require_roles(Role.MANAGER, Role.ADMIN))]


def actor(principal: Principal, store: EventStore) -> dict[str, Any]:
    """The fields every command carries: who, in which role, and when (the store's clock)."""
    return {
        "actor_id": principal.sub,
        "actor_role": DomainRole(principal.role.value),
        "at": store.clock(),
    }
