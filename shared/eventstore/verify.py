"""Walk the hash chains and report the first broken link."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from shared.eventstore.canonical import chain_hash, event_body

_ALL_EVENTS = """
select position, stream_id, stream_type, version, event_id, event_type, schema_version,
       data, metadata, recorded_at, hash
from events order by stream_id, version
"""
_ONE_STREAM = """
select position, stream_id, stream_type, version, event_id, event_type, schema_version,
       data, metadata, recorded_at, hash
from events where stream_id = $1 order by version
"""


@dataclass(frozen=True, slots=True)
class BrokenLink:
    """Where a chain stops matching what was recorded."""

    stream_id: str
    version: int
    position: int | None
    event_id: str | None
    reason: str


@dataclass(slots=True)
class VerifyReport:
    streams_checked: int = 0
    events_checked: int = 0
    broken: BrokenLink | None = None

    @property
    def ok(self) -> bool:
        return self.broken is None

    def to_public(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ok": self.ok,
            "streams_checked": self.streams_checked,
            "events_checked": self.events_checked,
        }
        if self.broken is not None:
            out["first_broken_link"] = {
                "stream_id": self.broken.stream_id,
                "version": self.broken.version,
                "position": self.broken.position,
                "event_id": self.broken.event_id,
                "reason": self.broken.reason,
            }
        return out


class ChainChecker:
    """Checks events fed one by one in (stream, version) order.

    Used by the database verifier and by offline verification of an export:
    both only need rows carrying the stored fields and hash.
    """

    def __init__(self) -> None:
        self.report = VerifyReport()
        self._stream: str | None = None
        self._version = 0
        self._hash: bytes | None = None

    def feed(self, row: Mapping[str, Any]) -> bool:
        """Check one event; returns False once a broken link has been found."""
        if self.report.broken is not None:
            return False
        stream_id = row["stream_id"]
        if stream_id != self._stream:
            self._stream, self._version, self._hash = stream_id, 0, None
            self.report.streams_checked += 1
        expected_version = self._version + 1
        where = (row["position"], str(row["event_id"]))
        if row["version"] != expected_version:
            return self._break(stream_id, expected_version, *where, "version gap: event missing")
        body = event_body(
            stream_id=stream_id,
            stream_type=row["stream_type"],
            version=row["version"],
            event_id=row["event_id"],
            event_type=row["event_type"],
            schema_version=row["schema_version"],
            data=row["data"],
            metadata=row["metadata"],
            recorded_at=_as_datetime(row["recorded_at"]),
        )
        digest = chain_hash(self._hash, body)
        if digest != bytes(row["hash"]):
            return self._break(stream_id, row["version"], *where, "hash does not match content")
        self._version, self._hash = row["version"], digest
        self.report.events_checked += 1
        return True

    def finish(self) -> VerifyReport:
        """The report once every event has been fed."""
        return self.report

    def _break(
        self, stream_id: str, version: int, position: int | None, event_id: str | None, why: str
    ) -> bool:
        self.report.broken = BrokenLink(stream_id, version, position, event_id, why)
        return False


def _as_datetime(value: datetime | str) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def _rows(conn: asyncpg.Connection, stream_id: str | None) -> AsyncIterator[asyncpg.Record]:
    if stream_id is None:
        async for row in conn.cursor(_ALL_EVENTS, prefetch=2000):
            yield row
    else:
        async for row in conn.cursor(_ONE_STREAM, stream_id, prefetch=2000):
            yield row


async def verify(pool: asyncpg.Pool, stream_id: str | None = None) -> VerifyReport:
    """Recompute every hash chain (or one stream's) from the stored events."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        checker = ChainChecker()
        async for row in _rows(conn, stream_id):
            if not checker.feed(row):
                break
        return checker.finish()
