"""The event store: immutable, hash-chained events in PostgreSQL."""

from shared.eventstore.store import EventStore, fold
from shared.eventstore.types import (
    START,
    AppendResult,
    Cursor,
    EventStoreError,
    IdempotencyKeyReusedError,
    IdempotencyRecord,
    InvalidCursorError,
    NewEvent,
    RecordedEvent,
    StoredResponse,
    WrongExpectedVersionError,
)
from shared.eventstore.upcasting import Upcasters
from shared.eventstore.verify import VerifyReport, verify

__all__ = [
    "START",
    "AppendResult",
    "Cursor",
    "EventStore",
    "EventStoreError",
    "IdempotencyKeyReusedError",
    "IdempotencyRecord",
    "InvalidCursorError",
    "NewEvent",
    "RecordedEvent",
    "StoredResponse",
    "Upcasters",
    "VerifyReport",
    "WrongExpectedVersionError",
    "fold",
    "verify",
]
