"""``GET /events/stream``: the feed as Server-Sent Events, resumable with ``Last-Event-ID``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sse_starlette import EventSourceResponse, ServerSentEvent

from shared.eventstore.types import Cursor
from shared.fanout.localfeed import LocalFeed
from shared.http.auth import Principal, decode_token
from shared.http.problems import Problem

STREAM_DESCRIPTION = """The public feed, pushed as it happens (`text/event-stream`).

Each SSE message is one event (unnamed, so `EventSource.onmessage` gets them
all): `id` is the event's feed cursor, `data` the same JSON as an item of
`GET /events` (its `type` says what happened). A client that
reconnects with `Last-Event-ID` (browsers' `EventSource` do this by
themselves) resumes exactly after that event: in commit order, nothing
skipped, nothing repeated. Without it the stream starts after `after`
(a cursor from `GET /events`), or from the first event. Comment lines are
sent as heartbeats while nothing happens, so proxies keep the connection.

Authenticate with `Authorization: Bearer <token>`, or — for a browser's
native `EventSource`, which cannot send headers — with `?access_token=`.
A token in a URL can end up in proxy logs: give browsers short-lived ones.
"""

RETRY_MS = 2000
BATCH = 500
_bearer = HTTPBearer(auto_error=False)


async def stream_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    access_token: Annotated[
        str | None, Query(max_length=4096, description="the bearer token, for EventSource")
    ] = None,
) -> Principal:
    """The caller, from the Authorization header or the ``access_token`` parameter."""
    token = credentials.credentials if credentials is not None else access_token
    if not token:
        raise Problem(
            401,
            "unauthorized",
            "Authentication required",
            "Send 'Authorization: Bearer <token>' or ?access_token=<token>.",
            headers={"WWW-Authenticate": 'Bearer realm="dealtrail"'},
        )
    settings = request.app.state.settings
    principal = decode_token(settings.signing_secret, token, issuer=settings.jwt_issuer)
    request.state.principal = principal  # for the auditor read log
    return principal


def stream_router() -> APIRouter:
    """The SSE route, shared by both services."""
    router = APIRouter(tags=["events"])

    @router.get(
        "/events/stream",
        summary="The event feed as Server-Sent Events",
        description=STREAM_DESCRIPTION,
        response_class=EventSourceResponse,
        responses={200: {"content": {"text/event-stream": {}}}},
    )
    async def stream(
        request: Request,
        principal: Annotated[Principal, Depends(stream_principal)],
        after: Annotated[str | None, Query(description="start after this cursor")] = None,
        type: Annotated[list[str] | None, Query(description="event types to include")] = None,
        stream: Annotated[str | None, Query(max_length=200, description="one stream")] = None,
        last_event_id: Annotated[
            str | None, Header(alias="Last-Event-ID", description="resume after this cursor")
        ] = None,
    ) -> EventSourceResponse:
        # Decoded before the response starts, so a bad cursor is a 400 problem.
        cursor = Cursor.decode(last_event_id or after)
        runtime = request.app.state.runtime
        fanout = runtime.extras["fanout"]
        messages = _messages(fanout.feed, cursor, type, stream)
        return EventSourceResponse(messages, ping=runtime.settings.sse_heartbeat_seconds)

    return router


async def _messages(
    feed: LocalFeed, cursor: Cursor, types: list[str] | None, stream_id: str | None
) -> AsyncIterator[ServerSentEvent]:
    yield ServerSentEvent(comment="dealtrail event stream", retry=RETRY_MS)
    async for batch in feed.follow(cursor, limit=BATCH, types=types, stream_id=stream_id):
        for event in batch:
            yield ServerSentEvent(
                data=json.dumps(event.to_public(), ensure_ascii=False, separators=(",", ":")),
                id=event.cursor.encode(),
            )
