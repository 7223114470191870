"""``/audit``: hash-chain verification and NDJSON exports, for auditors and admins.

Every call is logged with the caller's id (structlog, not events).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from shared.audit import audit_log, export_lines
from shared.eventstore.verify import verify
from shared.http.auth import Principal, Role, require_roles
from shared.http.problems import Problem

NDJSON = "application/x-ndjson"
CHUNK_BYTES = 64 * 1024

AuditReader = Annotated[Principal, Depends(require_roles(Role.AUDITOR, Role.ADMIN))]

EXPORT_DESCRIPTION = """Events with metadata and hashes as NDJSON, streamed in constant memory.

Lines: a `header`, one `event` per line in (stream, version) order with its
stored `hash` and `prev_hash` (the hash of the event before it, even when
that one is outside the range), and a `trailer` with counts and a digest.
`from` is inclusive, `to` exclusive (RFC 3339; naive times are UTC).
Check a saved export offline with `dealtrail audit verify FILE`.
"""


def audit_router() -> APIRouter:
    """The audit routes, shared by both services."""
    router = APIRouter(prefix="/audit", tags=["audit"])

    @router.get("/verify", summary="Walk the hash chains (all streams, or one)")
    async def verify_chains(
        request: Request,
        principal: AuditReader,
        stream: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    ) -> dict[str, Any]:
        report = await verify(request.app.state.runtime.pool, stream)
        audit_log("audit.verify", principal, stream=stream, ok=report.ok)
        if stream is not None and report.streams_checked == 0:
            raise Problem(404, "stream-not-found", "No such stream", f"{stream} has no events.")
        return report.to_public()

    @router.get(
        "/export",
        summary="Export events with metadata and hashes (NDJSON)",
        description=EXPORT_DESCRIPTION,
        response_class=StreamingResponse,
        responses={200: {"content": {NDJSON: {}}}},
    )
    async def export(
        request: Request,
        principal: AuditReader,
        start: Annotated[datetime | None, Query(alias="from")] = None,
        end: Annotated[datetime | None, Query(alias="to")] = None,
        stream_type: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    ) -> StreamingResponse:
        start, end = _utc(start), _utc(end)
        if start is not None and end is not None and start > end:
            raise Problem(422, "invalid-range", "Invalid range", "'from' is after 'to'.")
        audit_log(
            "audit.export",
            principal,
            start=start.isoformat() if start else None,
            end=end.isoformat() if end else None,
            stream_type=stream_type,
        )
        lines = export_lines(
            request.app.state.runtime.pool,
            service=request.app.state.service_name,
            start=start,
            end=end,
            stream_type=stream_type,
        )
        name = f"{request.app.state.service_name}-audit-export.ndjson"
        return StreamingResponse(
            _chunks(lines),
            media_type=NDJSON,
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    return router


def _utc(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


async def _chunks(lines: AsyncGenerator[str, None]) -> AsyncIterator[bytes]:
    buffer: list[str] = []
    size = 0
    async with contextlib.aclosing(lines):  # a client that leaves frees the connection
        async for line in lines:
            buffer.append(line)
            size += len(line) + 1
            if size >= CHUNK_BYTES:
                yield ("\n".join(buffer) + "\n").encode()
                buffer, size = [], 0
    if buffer:
        yield ("\n".join(buffer) + "\n").encode()
