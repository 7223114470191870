"""``/subscriptions``: register, inspect, pause/resume and remove webhook subscriptions.

Managing subscriptions needs the ``admin`` or ``service`` role (other systems
authenticate as ``service``). A service principal sees and changes only the
subscriptions it created; an admin sees and changes all of them. The signing
secret is shown once, in the answer to ``POST`` (and in its idempotent
replays); it is stored sealed under the master key, there and in the stored
answer alike.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import asyncpg
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from shared.eventstore import IdempotencyRecord
from shared.eventstore.types import START
from shared.fanout import signing
from shared.fanout import subscriptions as subs
from shared.fanout.targets import TargetRefusedError, parse_allow_list, resolve_target
from shared.fanout.wakeup import subscriptions_channel
from shared.http.auth import Principal, Role, require_roles
from shared.http.conditional import check_idempotency_key, request_fingerprint
from shared.http.pagination import page
from shared.http.problems import Problem

EventType = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\s]+$")]


class SubscriptionCreate(BaseModel):
    """A new webhook subscription."""

    model_config = ConfigDict(extra="forbid")

    url: Annotated[str, Field(min_length=1, max_length=2000, description="http(s) receiver")]
    event_types: Annotated[list[EventType] | None, Field(min_length=1, max_length=100)] = None
    description: Annotated[str | None, Field(max_length=500)] = None
    from_beginning: bool = Field(
        False, description="deliver every past event first (default: only new events)"
    )


class SubscriptionUpdate(BaseModel):
    """Fields to change; ``status`` pauses or resumes deliveries."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["active", "paused"] | None = None
    url: Annotated[str | None, Field(min_length=1, max_length=2000)] = None
    event_types: Annotated[list[EventType] | None, Field(min_length=1, max_length=100)] = None
    description: Annotated[str | None, Field(max_length=500)] = None


Manager = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.SERVICE))]


async def _ready(request: Request) -> asyncpg.Pool:
    runtime = request.app.state.runtime
    if not runtime.extras["fanout"].subscriptions_ready:
        raise Problem(
            503,
            "subscriptions-unavailable",
            "Subscriptions unavailable",
            "This service's database has no subscriptions table; run the migrations.",
        )
    return runtime.pool


PoolDep = Annotated[asyncpg.Pool, Depends(_ready)]


def subscriptions_router() -> APIRouter:
    """The subscription management routes, shared by both services."""
    router = APIRouter(prefix="/subscriptions", tags=["subscriptions"])

    @router.post("", status_code=201, summary="Register a webhook receiver")
    async def create(
        body: SubscriptionCreate, request: Request, principal: Manager, pool: PoolDep
    ) -> JSONResponse:
        key = check_idempotency_key(request.headers.get("idempotency-key"))
        fingerprint = request_fingerprint("POST", request.url.path, body.model_dump(mode="json"))
        scope = "subscriptions:" + principal.sub
        runtime = request.app.state.runtime
        store, master_key = runtime.store, runtime.settings.master_key_bytes
        if key and (stored := await store.find_response(scope, key, fingerprint)):
            return _replay(stored.body, master_key)
        await _check_target(request, body.url)
        start = START if body.from_beginning else await store.head()
        subscription_id, secret = uuid.uuid4(), signing.new_secret()

        def remember(created: subs.Subscription) -> IdempotencyRecord:
            return IdempotencyRecord(scope, key or "", fingerprint, 201, _remembered(created))

        try:
            created = await subs.create(
                pool,
                id=subscription_id,
                owner=principal.sub,
                url=body.url,
                event_types=body.event_types,
                description=body.description,
                sealed_secret=signing.seal_secret(master_key, subscription_id, secret),
                start=start,
                remember=remember if key else None,
            )
        except asyncpg.UniqueViolationError:
            stored = await store.find_response(scope, key or "", fingerprint)
            if stored is None:
                raise
            return _replay(stored.body, master_key)
        await _announce(request, pool, created.id)
        return JSONResponse(
            {**_jsonable(created), "secret": secret}, status_code=201, headers=_location(created)
        )

    @router.get("", summary="List subscriptions")
    async def list_subscriptions(
        request: Request,
        principal: Manager,
        pool: PoolDep,
        after: Annotated[uuid.UUID | None, Query(description="id from a previous page")] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> dict[str, Any]:
        owner = None if principal.role == Role.ADMIN else principal.sub
        found = await subs.list_page(pool, owner, after, limit)
        last = str(found[-1].id) if len(found) == limit else None
        return page([_public(s) for s in found], request, last, param="after")

    @router.get("/{subscription_id}", summary="Status, checkpoint, lag and last error")
    async def read(subscription_id: uuid.UUID, principal: Manager, pool: PoolDep) -> dict:
        sub = await _visible(pool, subscription_id, principal)
        return _public(sub, lag=await subs.lag(pool, sub))

    @router.patch("/{subscription_id}", summary="Pause, resume or change a subscription")
    async def change(
        subscription_id: uuid.UUID,
        body: SubscriptionUpdate,
        request: Request,
        principal: Manager,
        pool: PoolDep,
    ) -> dict:
        await _visible(pool, subscription_id, principal)
        given = body.model_fields_set
        if body.url is not None:
            await _check_target(request, body.url)
        updated = await subs.update(
            pool,
            subscription_id,
            status=body.status,
            url=body.url,
            event_types=("event_types" in given, body.event_types),
            description=("description" in given, body.description),
        )
        if updated is None:
            raise _not_found(subscription_id)
        await _announce(request, pool, subscription_id)
        return _public(updated, lag=await subs.lag(pool, updated))

    @router.delete("/{subscription_id}", status_code=204, summary="Remove a subscription")
    async def remove(
        subscription_id: uuid.UUID, request: Request, principal: Manager, pool: PoolDep
    ) -> Response:
        await _visible(pool, subscription_id, principal)
        if not await subs.delete(pool, subscription_id):
            raise _not_found(subscription_id)
        await _announce(request, pool, subscription_id)
        return Response(status_code=204)

    return router


async def _announce(request: Request, pool: asyncpg.Pool, subscription_id: uuid.UUID) -> None:
    # Whichever replica delivers hears it at once: a pause stops deliveries
    # before any event appended after this answer goes out.
    schema = request.app.state.runtime.notifier.schema
    await subs.announce(pool, subscriptions_channel(schema), subscription_id)


async def _check_target(request: Request, url: str) -> None:
    allow = parse_allow_list(request.app.state.runtime.settings.webhook_allow_hosts)
    try:
        await resolve_target(url, allow)
    except TargetRefusedError as exc:
        raise Problem(
            422, "webhook-target-refused", "Receiver not allowed", f"{url}: {exc}"
        ) from exc


async def _visible(
    pool: asyncpg.Pool, subscription_id: uuid.UUID, principal: Principal
) -> subs.Subscription:
    sub = await subs.get(pool, subscription_id)
    if sub is None or (principal.role != Role.ADMIN and sub.owner != principal.sub):
        raise _not_found(subscription_id)
    return sub


def _not_found(subscription_id: uuid.UUID) -> Problem:
    return Problem(
        404, "subscription-not-found", "No such subscription", f"{subscription_id} not found."
    )


def _jsonable(sub: subs.Subscription) -> dict[str, Any]:
    return jsonable_encoder(_public(sub))


def _location(sub: subs.Subscription) -> dict[str, str]:
    return {"Location": f"/subscriptions/{sub.id}"}


def _remembered(sub: subs.Subscription) -> dict[str, Any]:
    """The answer to ``POST`` as the idempotency table keeps it: the secret still sealed."""
    return {"body": _jsonable(sub), "headers": _location(sub), "sealed_secret": sub.sealed_secret}


def _replay(stored: dict[str, Any], master_key: bytes) -> JSONResponse:
    body = stored["body"]
    secret = signing.open_secret(master_key, uuid.UUID(body["id"]), stored["sealed_secret"])
    headers = {**stored["headers"], "Idempotent-Replayed": "true"}
    return JSONResponse({**body, "secret": secret}, status_code=201, headers=headers)


def _ts(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _public(sub: subs.Subscription, *, lag: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": str(sub.id),
        "owner": sub.owner,
        "url": sub.url,
        "event_types": sub.event_types,
        "description": sub.description,
        "status": sub.status,
        "retrying": sub.status == "active" and sub.attempts > 0,
        "checkpoint": sub.checkpoint.encode(),
        "delivered": sub.delivered,
        "attempts": sub.attempts,
        "last_error": sub.last_error,
        "last_attempt_at": _ts(sub.last_attempt_at),
        "last_delivered_at": _ts(sub.last_delivered_at),
        "next_attempt_at": _ts(sub.next_attempt_at),
        "created_at": _ts(sub.created_at),
        "updated_at": _ts(sub.updated_at),
    }
    if lag is not None:
        out["lag"] = lag
        out["lag_capped"] = lag >= subs.LAG_CAP
    return out
