"""Audit exports (NDJSON with hashes), their offline verification, and the auditor read log.

An export is one JSON object per line: a ``header``, then every event in
(stream, version) order with its metadata, stored hash and the hash of the
event before it (``prev_hash``, also when that event is outside the exported
range), then a ``trailer`` with the counts and a digest over all hashes.
Anyone can check an export offline: each hash is recomputed from the line's
content and chained to the previous one, and the trailer catches lines that
were removed or reordered. Both ends run in constant memory.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.eventstore.canonical import chain_hash, event_body, format_timestamp

FORMAT = "dealtrail-audit-export/1"
PREFETCH = 2000
_BEGINNING = datetime(1970, 1, 1, tzinfo=UTC)
_END = datetime(9999, 12, 31, tzinfo=UTC)

# The predecessor comes from the whole table, so a range that starts in the
# middle of a stream is still anchored to the chain. Byte order ("C") makes
# the stream order the same as the offline checker's string comparison.
_EXPORT = """
select e.position, e.stream_id, e.stream_type, e.version, e.event_id, e.event_type,
       e.schema_version, e.data, e.metadata, e.recorded_at, e.hash, p.hash as prev_hash
from events e
left join events p on p.stream_id = e.stream_id and p.version = e.version - 1
where e.recorded_at >= $1 and e.recorded_at < $2
  and ($3::text is null or e.stream_type = $3)
order by e.stream_id collate "C", e.version
"""


def parse_moment(value: str | None) -> datetime | None:
    """An RFC 3339 time (``Z`` allowed; naive means UTC), or None."""
    if value is None or value == "":
        return None
    moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def audit_log(event: str, principal: Any, **fields: Any) -> None:
    """Log one auditor read with the reader's id (a log line, never an event)."""
    structlog.get_logger("dealtrail.audit").info(
        event, auditor=principal.sub, role=str(principal.role), **fields
    )


class AuditReadLogMiddleware:
    """Logs every request answered to an ``auditor`` token: who read what, and the status."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_and_log(message: Message) -> None:
            if message["type"] == "http.response.start":
                principal = (scope.get("state") or {}).get("principal")
                if principal is not None and str(principal.role) == "auditor":
                    audit_log(
                        "audit.read",
                        principal,
                        method=scope["method"],
                        path=scope["path"],
                        query=_redacted(scope.get("query_string", b"").decode("latin-1")),
                        status=message["status"],
                    )
            await send(message)

        await self.app(scope, receive, send_and_log)


def _redacted(query: str) -> str:
    """The query string with any ``access_token`` value blanked out."""
    if "access_token=" not in query:
        return query
    parts = query.split("&")
    return "&".join("access_token=***" if p.startswith("access_token=") else p for p in parts)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


async def export_lines(
    pool: asyncpg.Pool,
    *,
    service: str,
    start: datetime | None = None,
    end: datetime | None = None,
    stream_type: str | None = None,
) -> AsyncIterator[str]:
    """NDJSON lines of an export, read through a server-side cursor in one snapshot."""
    digest = hashlib.sha256()
    events = streams = 0
    last_stream: str | None = None
    yield _dumps(
        {
            "kind": "header",
            "format": FORMAT,
            "service": service,
            "exported_at": format_timestamp(datetime.now(UTC)),
            "from": format_timestamp(start) if start else None,
            "to": format_timestamp(end) if end else None,
            "stream_type": stream_type,
        }
    )
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        rows = conn.cursor(
            _EXPORT, start or _BEGINNING, end or _END, stream_type, prefetch=PREFETCH
        )
        async for row in rows:
            digest.update(bytes(row["hash"]))
            events += 1
            if row["stream_id"] != last_stream:
                streams, last_stream = streams + 1, row["stream_id"]
            yield _dumps(
                {
                    "kind": "event",
                    "position": row["position"],
                    "stream_id": row["stream_id"],
                    "stream_type": row["stream_type"],
                    "version": row["version"],
                    "id": str(row["event_id"]),
                    "type": row["event_type"],
                    "schema_version": row["schema_version"],
                    "data": row["data"],
                    "metadata": row["metadata"],
                    "recorded_at": format_timestamp(row["recorded_at"]),
                    "hash": bytes(row["hash"]).hex(),
                    "prev_hash": bytes(row["prev_hash"]).hex() if row["prev_hash"] else None,
                }
            )
    yield _dumps(
        {"kind": "trailer", "events": events, "streams": streams, "digest": digest.hexdigest()}
    )


@dataclass(slots=True)
class ExportReport:
    """The outcome of checking an export offline."""

    events_checked: int = 0
    streams_checked: int = 0
    problem: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        """True when nothing in the export contradicts its hashes."""
        return self.problem is None

    def to_public(self) -> dict[str, Any]:
        """JSON shape printed by ``dealtrail audit verify``."""
        out: dict[str, Any] = {
            "ok": self.ok,
            "streams_checked": self.streams_checked,
            "events_checked": self.events_checked,
        }
        if self.problem is not None:
            out["first_problem"] = self.problem
        return out


class _Broken(Exception):
    def __init__(self, reason: str, **where: Any) -> None:
        super().__init__(reason)
        self.detail = {"reason": reason, **where}


def verify_export(lines: Iterable[str]) -> ExportReport:
    """Check an export against its own hashes, chain links and trailer."""
    report = ExportReport()
    digest = hashlib.sha256()
    previous: dict[str, Any] | None = None
    state = "header"
    number = 0
    try:
        for text in lines:
            number += 1
            if not text.strip():
                continue
            try:
                item = json.loads(text)
                kind = item["kind"]
            except (ValueError, TypeError, KeyError) as exc:
                raise _Broken("not an export line") from exc
            if state == "header":
                if kind != "header" or item.get("format") != FORMAT:
                    raise _Broken(f"the first line must be a {FORMAT} header")
                state = "events"
            elif state == "done":
                raise _Broken("content after the trailer")
            elif kind == "event":
                _check_event(item, previous, report)
                digest.update(bytes.fromhex(item["hash"]))
                previous = item
            elif kind == "trailer":
                _check_trailer(item, report, digest.hexdigest())
                state = "done"
            else:
                raise _Broken(f"unexpected line of kind {kind!r}")
        if state != "done":
            number += 1
            raise _Broken("the export is truncated: no trailer")
    except _Broken as broken:
        report.problem = {"line": number, **broken.detail}
    return report


def _check_event(
    item: dict[str, Any], previous: dict[str, Any] | None, report: ExportReport
) -> None:
    try:
        where = {"stream_id": item["stream_id"], "version": item["version"], "event_id": item["id"]}
        body = event_body(
            stream_id=item["stream_id"],
            stream_type=item["stream_type"],
            version=item["version"],
            event_id=item["id"],
            event_type=item["type"],
            schema_version=item["schema_version"],
            data=item["data"],
            metadata=item["metadata"],
            recorded_at=datetime.fromisoformat(item["recorded_at"].replace("Z", "+00:00")),
        )
        stored = bytes.fromhex(item["hash"])
        prev = bytes.fromhex(item["prev_hash"]) if item["prev_hash"] is not None else None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise _Broken("malformed event line") from exc
    same_stream = previous is not None and previous["stream_id"] == item["stream_id"]
    if same_stream:
        assert previous is not None
        if item["version"] != previous["version"] + 1:
            raise _Broken("version gap: an event is missing", **where)
        if item["prev_hash"] != previous["hash"]:
            raise _Broken("does not chain to the event before it", **where)
    else:
        if previous is not None and item["stream_id"] <= previous["stream_id"]:
            raise _Broken("streams out of order or repeated", **where)
        if (item["version"] == 1) != (prev is None):
            raise _Broken("chain start does not match the version", **where)
        report.streams_checked += 1
    if chain_hash(prev, body) != stored:
        raise _Broken("hash does not match content", **where)
    report.events_checked += 1


def _check_trailer(item: dict[str, Any], report: ExportReport, digest: str) -> None:
    if item.get("events") != report.events_checked or item.get("streams") != report.streams_checked:
        raise _Broken("the trailer's counts do not match the events (lines added or removed)")
    if item.get("digest") != digest:
        raise _Broken("the trailer's digest does not match the events")
