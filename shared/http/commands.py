"""The one command path: idempotency → load → If-Match → decide → append → respond.

The idempotency record and the stream are read in one round trip; a command on a
state the repository can presume skips that read (see :func:`execute`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import asyncpg
import orjson
from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from shared.aggregates import Loaded, Repository
from shared.eventstore import IdempotencyRecord, StoredResponse, WrongExpectedVersionError
from shared.eventstore.canonical import is_plain_json
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
        fingerprint=request_fingerprint(request.method, request.scope["path"], _json_ready(body)),
        reason=reason,
    )


def _json_ready(body: Any) -> Any:
    """``body`` as JSON types; a body that holds only those already is used as it is."""
    return body if is_plain_json(body) else jsonable_encoder(body)


@dataclass(slots=True)
class Reply:
    """What a successful command answers. ``json_ready``: the body holds only JSON
    types already (dict, list, str, int, float, bool, None), so the encoding walk is
    skipped — on a large body it costs more than the rest of the command's Python."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    json_ready: bool = False


class _ReplyResponse(JSONResponse):
    """A reply's JSON written by orjson. Reply bodies hold strings, integers, booleans,
    nulls, lists and objects, for which orjson writes ``JSONResponse``'s very text
    (compact, UTF-8) in a fraction of the time; what it refuses (an integer beyond
    64 bits, a non-string key) goes ``JSONResponse``'s way."""

    def render(self, content: Any) -> bytes:
        try:
            return orjson.dumps(content)
        except orjson.JSONEncodeError:
            return super().render(content)


def _render(reply: Reply, *, replayed: bool = False) -> JSONResponse:
    headers = dict(reply.headers)
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return _ReplyResponse(reply.body, status_code=reply.status, headers=headers)


def _replay(stored: StoredResponse) -> JSONResponse:
    return _render(Reply(stored.status, stored.body["body"], stored.body["headers"]), replayed=True)


class _Unconfirmed(Exception):
    """A command decided on a presumed state could not be confirmed by its append."""


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

    When the repository can presume the stream's state (a stream about to be
    created, a recently folded one whose version the client names in
    ``If-Match``) the command is decided on it and appended straight away: one
    round trip. Whatever that attempt could get wrong — the stream moved on, a
    stored response to replay, a refusal or a no-op that a replay would have
    answered instead — makes it step back without a trace, and the command runs
    again on what the store says. (``If-Match: *`` reads first: its conflicts
    are 409s.)
    """
    presumed = await repo.presume(stream_id, new=create)
    if presumed is not None and (create or ctx.if_match == presumed.version):
        with contextlib.suppress(_Unconfirmed):
            return await _decide_and_append(
                repo, stream_id, ctx, command, respond, presumed, presumed=True
            )

    read = await repo.load_for_command(
        stream_id,
        scope=ctx.principal.sub,
        key=ctx.idempotency_key,
        request_hash=ctx.fingerprint,
    )
    if isinstance(read, StoredResponse):
        return _replay(read)
    if create:
        if read.version != 0:
            raise Problem(409, "already-exists", "Already exists", f"{stream_id} already exists.")
    else:
        if read.version == 0:
            raise (not_found() if not_found else Problem(404, "not-found", "Not found"))
        check_if_match(ctx.if_match, read.version)
    return await _decide_and_append(repo, stream_id, ctx, command, respond, read)


async def _decide_and_append(
    repo: Repository[S, Any, Any],
    stream_id: str,
    ctx: CommandContext,
    command: Any,
    respond: Callable[[S, int], Reply],
    loaded: Loaded[S],
    *,
    presumed: bool = False,
) -> JSONResponse:
    """Decide on ``loaded``, append and answer. On a ``presumed`` state anything but a
    confirmed append raises :class:`_Unconfirmed`, having written nothing."""
    try:
        events = repo.aggregate.decide(loaded.state, command)
        state = repo.apply(loaded.state, events)
        version = loaded.version + len(events)
        reply = respond(state, version)
    except Exception as exc:
        if presumed:
            raise _Unconfirmed from exc
        raise
    if not reply.json_ready:
        reply.body = jsonable_encoder(reply.body)
    reply.headers.setdefault("ETag", etag(version))
    if not events:
        if presumed:
            raise _Unconfirmed  # a no-op answers the stream as it is
        return _render(reply)

    scope = ctx.principal.sub
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
        if presumed:
            raise _Unconfirmed from None
        if ctx.if_match is not None:
            raise Problem(
                412,
                "stale-version",
                "The resource changed since you read it",
                "Another change was committed first; read it again and retry.",
            ) from None
        raise
    except asyncpg.UniqueViolationError:
        # The same key won a race a moment ago (or ran before): answer what it answered.
        stored = await repo.store.find_response(scope, ctx.idempotency_key or "", ctx.fingerprint)
        if stored is None:
            raise
        return _replay(stored)
    repo.appended(stream_id, Loaded(state, version))
    APPENDS.labels(ctx.service, repo.aggregate.stream_type).inc(len(events))
    return _render(reply)
