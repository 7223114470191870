"""Several streams (and other writes) in one transaction, answered like ``execute``.

:func:`shared.http.commands.execute` appends to one stream. Opening, renaming or
archiving an account also moves its name claim, and erasing personal data also
deletes a key; :func:`commit` does those in one transaction, with the same
idempotency record, If-Match (412) and replay rules.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from shared.aggregates import Aggregate, Repository
from shared.eventstore import EventStore, IdempotencyRecord, WrongExpectedVersionError
from shared.http.commands import CommandContext, Reply
from shared.http.conditional import etag
from shared.http.problems import Problem
from shared.metrics import APPENDS


@dataclass(frozen=True, slots=True)
class Write:
    """Events decided for one stream, to append at ``expected_version``."""

    aggregate: Aggregate
    stream_id: str
    expected_version: int
    events: list


async def replayed(store: EventStore, ctx: CommandContext) -> JSONResponse | None:
    """The first response to this Idempotency-Key, if the command ran before."""
    if not ctx.idempotency_key:
        return None
    stored = await store.find_response(ctx.principal.sub, ctx.idempotency_key, ctx.fingerprint)
    if stored is None:
        return None
    return _render(Reply(stored.status, stored.body["body"], stored.body["headers"]), True)


async def commit(
    store: EventStore,
    ctx: CommandContext,
    writes: list[Write],
    reply: Reply,
    *,
    also: Callable[[asyncpg.Connection], Awaitable[Any]] | None = None,
) -> JSONResponse:
    """Append ``writes`` (the first is the command's own stream, which carries the
    idempotency record) and run ``also`` in one transaction, then answer ``reply``."""
    primary = writes[0]
    if not reply.json_ready:
        reply.body = jsonable_encoder(reply.body)
    reply.headers.setdefault("ETag", etag(primary.expected_version + len(primary.events)))
    if not primary.events:
        return _render(reply)
    pending = [w for w in writes if w.events]
    record = None
    if ctx.idempotency_key:
        body = {"body": reply.body, "headers": reply.headers}
        record = IdempotencyRecord(
            ctx.principal.sub, ctx.idempotency_key, ctx.fingerprint, reply.status, body
        )
    try:
        async with store.pool.acquire() as conn, conn.transaction():
            for i, w in enumerate(pending):
                await Repository(store, w.aggregate).append(
                    w.stream_id,
                    w.expected_version,
                    w.events,
                    ctx.metadata(),
                    idempotency=record if i == 0 else None,
                    conn=conn,
                )
            if also is not None:
                await also(conn)
    except WrongExpectedVersionError as exc:
        if exc.stream_id == primary.stream_id and ctx.if_match is not None:
            raise Problem(
                412,
                "stale-version",
                "The resource changed since you read it",
                "Another change was committed first; read it again and retry.",
            ) from None
        raise
    except asyncpg.UniqueViolationError:
        # The same Idempotency-Key won a race a moment ago: answer what it answered.
        if (answer := await replayed(store, ctx)) is None:
            raise
        return answer
    for w in pending:
        APPENDS.labels(ctx.service, w.aggregate.stream_type).inc(len(w.events))
    return _render(reply)


def _render(reply: Reply, replayed: bool = False) -> JSONResponse:
    headers = dict(reply.headers)
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(reply.body, status_code=reply.status, headers=headers)
