"""The one command path: idempotency → load → If-Match → decide → append → respond."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import asyncpg
from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from shared.aggregates import Repository
from shared.eventstore import IdempotencyRecord, WrongExpectedVersionError
from shared.http.auth import Principal
from shared.http.conditional import (
    check_idempotency_key,
    check_if_match,
    etag,
    parse_if_match,
    request_fingerprint,
)
from shared.http.problems import Problem
from shared.metrics import APPENDS

S = TypeVar("S")


@dataclass(frozen=True, slots=True)
class CommandContext:
    """Everything about the HTTP request that a command carries along."""

    principal: Principal
    request_id: str
    service: str
    idempotency_key: str | None
    if_match: int | None
    fingerprint: bytes
    reason: str | None = None

    def metadata(self, **extra: Any) -> dict[str, Any]:
        meta = {
            "actor": self.principal.sub,
            "role": self.principal.role.value,
            "request_id": self.request_id,
            "correlation_id": self.request_id,
        }
        if self.reason:
            meta["reason"] = self.reason
        if self.idempotency_key:
            meta["idempotency_key"] = self.idempotency_key
        meta.update({k: v for k, v in extra.items() if v is not None})
        return meta


async def command_context(
    request: Request,
    principal: Principal,
    body: Any,
    *,
    require_if_match: bool = True,
    reason: str | None = None,
) -> CommandContext:
    """Build the context from the request's headers and (parsed) body."""
    headers = request.headers
    return CommandContext(
        principal=principal,
        request_id=getattr(request.state, "request_id", ""),
        service=request.app.state.service_name,
        idempotency_key=check_idempotency_key(headers.get("idempotency-key")),
        if_match=parse_if_match(headers.get("if-match"), required=require_if_match),
        fingerprint=request_fingerprint(
            request.method, request.url.path, jsonable_encoder(body) if body is not None else None
        ),
        reason=reason,
    )


@dataclass(slots=True)
class Reply:
    """What a successful command answers. ``json_ready``: the body holds only JSON
    types already (dict, list, str, int, float, bool, None), so the encoding walk is
    skipped — on a large body it costs more than the rest of the command's Python."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    json_ready: bool = False


def _render(reply: Reply, *, replayed: bool = False) -> JSONResponse:
    headers = dict(reply.headers)
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(reply.body, status_code=reply.status, headers=headers)


async def execute(
    repo: Repository[S, Any, Any],
    stream_id: str,
    ctx: CommandContext,
    command: Any,
    respond: Callable[[S, int], Reply],
    *,
    create: bool = False,
    not_found: Callable[[], Problem] | None = None,
) -> JSONResponse:
    """Run one command against one stream and answer it.

    A retried request with the same ``Idempotency-Key`` gets the first answer
    again and appends nothing; the same key with another body is a 422.
    """
    store = repo.store
    scope = ctx.principal.sub
    if ctx.idempotency_key:
        stored = await store.find_response(scope, ctx.idempotency_key, ctx.fingerprint)
        if stored is not None:
            return _render(
                Reply(stored.status, stored.body["body"], stored.body["headers"]), replayed=True
            )

    loaded = await repo.load(stream_id)
    if create:
        if loaded.version != 0:
            raise Problem(409, "already-exists", "Already exists", f"{stream_id} already exists.")
    else:
        if loaded.version == 0:
            raise (not_found() if not_found else Problem(404, "not-found", "Not found"))
        check_if_match(ctx.if_match, loaded.version)

    events = repo.aggregate.decide(loaded.state, command)
    state = repo.apply(loaded.state, events)
    version = loaded.version + len(events)
    reply = respond(state, version)
    if not reply.json_ready:
        reply.body = jsonable_encoder(reply.body)
    reply.headers.setdefault("ETag", etag(version))
    if not events:
        return _render(reply)

    idempotency = None
    if ctx.idempotency_key:
        idempotency = IdempotencyRecord(
            scope,
            ctx.idempotency_key,
            ctx.fingerprint,
            reply.status,
            {"body": reply.body, "headers": reply.headers},
        )
    try:
        await repo.append(
            stream_id, loaded.version, events, ctx.metadata(), idempotency=idempotency
        )
    except WrongExpectedVersionError:
        if ctx.if_match is not None:
            raise Problem(
                412,
                "stale-version",
                "The resource changed since you read it",
                "Another change was committed first; read it again and retry.",
            ) from None
        raise
    except asyncpg.UniqueViolationError:
        # The same key won a race a moment ago: answer what it answered.
        stored = await store.find_response(scope, ctx.idempotency_key or "", ctx.fingerprint)
        if stored is None:
            raise
        return _render(
            Reply(stored.status, stored.body["body"], stored.body["headers"]), replayed=True
        )
    APPENDS.labels(ctx.service, repo.aggregate.stream_type).inc(len(events))
    return _render(reply)
