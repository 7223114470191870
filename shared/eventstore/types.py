"""Value types of the event store."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple
from uuid import UUID, uuid4


class EventStoreError(Exception):
    """Base of every error the event store raises."""


class WrongExpectedVersionError(EventStoreError):
    """The stream moved on since the caller read it (optimistic concurrency)."""

    def __init__(self, stream_id: str, expected: int, actual: int) -> None:
        super().__init__(f"stream {stream_id} is at version {actual}, not {expected}")
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual


class IdempotencyKeyReusedError(EventStoreError):
    """The same Idempotency-Key came back with a different request."""

    def __init__(self, key: str) -> None:
        super().__init__(f"Idempotency-Key {key!r} was already used for a different request")
        self.key = key


class InvalidCursorError(EventStoreError):
    """A feed cursor that this store did not hand out."""


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event about to be appended."""

    type: str
    data: dict[str, Any]
    schema_version: int = 1
    event_id: UUID = field(default_factory=uuid4)


@dataclass(frozen=True, slots=True, order=True)
class Cursor:
    """A position in the global feed: (transaction id, position)."""

    tx_id: int = 0
    position: int = 0

    def encode(self) -> str:
        """Opaque, URL-safe text form."""
        raw = f"{self.tx_id}.{self.position}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str | None) -> Cursor:
        """Parse a cursor handed out by :meth:`encode`; empty means the beginning."""
        if not text:
            return cls()
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
            tx, pos = raw.split(".")
            cursor = cls(int(tx), int(pos))
        except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
            raise InvalidCursorError(f"not a feed cursor: {text!r}") from exc
        if cursor.tx_id < 0 or cursor.position < 0:
            raise InvalidCursorError(f"not a feed cursor: {text!r}")
        return cursor


START = Cursor()


class RecordedEvent(NamedTuple):
    """An event as stored (after upcasting, when read through the store).

    A named tuple rather than a frozen dataclass: the feed builds one per row,
    and a tuple is built from the row's columns at a fraction of the cost.
    """

    position: int
    tx_id: int
    stream_id: str
    stream_type: str
    version: int
    event_id: UUID
    type: str
    schema_version: int
    data: dict[str, Any]
    metadata: dict[str, Any]
    recorded_at: datetime
    hash: bytes

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.tx_id, self.position)

    def to_public(self) -> dict[str, Any]:
        """JSON shape used by the public feed and history endpoints."""
        return {
            "id": str(self.event_id),
            "cursor": self.cursor.encode(),
            "position": self.position,
            "stream_id": self.stream_id,
            "stream_type": self.stream_type,
            "version": self.version,
            "type": self.type,
            "schema_version": self.schema_version,
            "data": self.data,
            "metadata": self.metadata,
            "recorded_at": self.recorded_at.isoformat().replace("+00:00", "Z"),
            "hash": self.hash.hex(),
        }


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    """A command's idempotency key and the response to replay for it."""

    scope: str
    key: str
    request_hash: bytes
    status: int
    response: Any

    @property
    def row(self) -> tuple[str, str, bytes, int, Any]:
        """The values of its idempotency row, in column order."""
        return (self.scope, self.key, self.request_hash, self.status, self.response)


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """The answer recorded for an idempotency key, replayed on a retry."""

    status: int
    body: Any


@dataclass(frozen=True, slots=True)
class AppendResult:
    """Where an append left its stream: the new version, and the last event's position."""

    stream_id: str
    version: int
    position: int
