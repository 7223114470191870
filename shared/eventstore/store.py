"""The event store: append with optimistic concurrency, per-stream reads, the global feed.

The SQL it runs is in :mod:`shared.eventstore.statements`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import asyncpg

from shared.eventstore.canonical import chain_hash, event_body
from shared.eventstore.heads import StreamHeads
from shared.eventstore.statements import (
    APPEND,
    APPEND_ONE,
    COUNT_AFTER,
    HEAD,
    IDEMPOTENCY,
    OLDEST_XID_AGE,
    READ_ALL,
    READ_ALL_FILTERED,
    READ_FOR_COMMAND,
    READ_STREAM,
    STREAM_VERSION,
)
from shared.eventstore.types import (
    START,
    AppendResult,
    Cursor,
    IdempotencyKeyReusedError,
    IdempotencyRecord,
    NewEvent,
    RecordedEvent,
    StoredResponse,
    WrongExpectedVersionError,
)
from shared.eventstore.upcasting import Upcasters

S = TypeVar("S")

WRONG_VERSION_SQLSTATE = "DT409"

_FAR_FUTURE = datetime.max.replace(tzinfo=UTC)
_MAX_VERSION = 2**31 - 1


# The statements select COLUMNS in RecordedEvent's field order, so a row becomes an event:
# the tuple is built straight from the record, without a call per field.
_tuple_new = tuple.__new__


class EventStore:
    """Append-only event storage in one service schema.

    ``pool`` connections must have the service schema on their ``search_path``
    (see :func:`shared.db.create_pool`); a single connection (:func:`shared.db.connect`)
    serves as well, for one task at a time. ``clock`` supplies ``recorded_at``;
    ``on_append`` is called after each successful append, outside its
    transaction (the coalescing notifier hooks in here).
    """

    def __init__(
        self,
        pool: asyncpg.Pool | asyncpg.Connection,
        *,
        upcasters: Upcasters | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_append: Callable[[], None] | None = None,
    ) -> None:
        self.pool = pool
        self.upcasters = upcasters or Upcasters()
        self.clock = clock
        self.on_append = on_append
        self._heads = StreamHeads()

    async def append(
        self,
        stream_id: str,
        stream_type: str,
        expected_version: int,
        events: Sequence[NewEvent],
        metadata: dict[str, Any] | None = None,
        *,
        idempotency: IdempotencyRecord | None = None,
        conn: asyncpg.Connection | None = None,
    ) -> AppendResult:
        """Append ``events`` to a stream that must be at ``expected_version`` (0: new).

        With ``conn`` the append joins that connection's transaction (if any);
        otherwise it runs in a transaction of its own.

        Raises :class:`WrongExpectedVersionError` when the stream moved on, and
        :class:`asyncpg.UniqueViolationError` when a concurrent request stored the
        same idempotency key first (callers then replay the stored response).
        """
        meta = metadata or {}
        recorded_at = self.clock()
        bodies = [
            event_body(
                stream_id=stream_id,
                stream_type=stream_type,
                version=expected_version + i,
                event_id=e.event_id,
                event_type=e.type,
                schema_version=e.schema_version,
                data=e.data,
                metadata=meta,
                recorded_at=recorded_at,
            )
            for i, e in enumerate(events, start=1)
        ]
        runner = conn if conn is not None else self.pool
        if len(events) == 1:
            position = await self._append_one(
                runner, stream_id, stream_type, expected_version, events[0], meta, bodies[0],
                recorded_at, idempotency,
            )  # fmt: skip
        else:
            position = await self._append_many(
                runner, stream_id, stream_type, expected_version, events, meta, bodies,
                recorded_at, idempotency,
            )  # fmt: skip
        if self.on_append is not None and events:
            self.on_append()
        return AppendResult(stream_id, expected_version + len(events), position)

    async def _append_one(
        self,
        runner: asyncpg.Pool | asyncpg.Connection,
        stream_id: str,
        stream_type: str,
        expected_version: int,
        event: NewEvent,
        meta: dict[str, Any],
        body: str,
        recorded_at: datetime,
        idem: IdempotencyRecord | None,
    ) -> int:
        previous = self._heads.hash_at(stream_id, expected_version) if expected_version else None
        chained = expected_version == 0 or previous is not None
        row = await runner.fetchrow(
            APPEND_ONE[chained, idem is not None],
            stream_id,
            stream_type,
            expected_version,
            event.event_id,
            event.type,
            event.schema_version,
            event.data,
            meta,
            chain_hash(previous, body) if chained else body,
            recorded_at,
            *(idem.row if idem else ()),
        )
        if row is None:  # the next version was taken: nothing written
            actual = await runner.fetchval(STREAM_VERSION, stream_id)
            raise WrongExpectedVersionError(stream_id, expected_version, actual)
        if _committed(runner):
            self._heads.learn(stream_id, expected_version + 1, row[1])
        return row[0]

    async def _append_many(
        self,
        runner: asyncpg.Pool | asyncpg.Connection,
        stream_id: str,
        stream_type: str,
        expected_version: int,
        events: Sequence[NewEvent],
        meta: dict[str, Any],
        bodies: list[str],
        recorded_at: datetime,
        idem: IdempotencyRecord | None,
    ) -> int:
        try:
            return await runner.fetchval(
                APPEND,
                stream_id,
                stream_type,
                expected_version,
                [e.event_id for e in events],
                [e.type for e in events],
                [e.schema_version for e in events],
                [e.data for e in events],
                [meta] * len(events),
                bodies,
                recorded_at,
                *(idem.row if idem else (None,) * 5),
            )
        except asyncpg.PostgresError as exc:
            if getattr(exc, "sqlstate", None) == WRONG_VERSION_SQLSTATE:
                actual = int(getattr(exc, "detail", None) or 0)
                raise WrongExpectedVersionError(stream_id, expected_version, actual) from exc
            raise

    def _learn_from(self, events: list[RecordedEvent]) -> None:
        """Keep the head that a read of committed events shows."""
        if events and _committed(self.pool):
            last = events[-1]
            self._heads.learn(last.stream_id, last.version, last.hash)

    async def find_response(
        self, scope: str, key: str, request_hash: bytes
    ) -> StoredResponse | None:
        """The stored response for an idempotency key, if the command ran before.

        Raises :class:`IdempotencyKeyReusedError` if the key came with another request.
        """
        row = await self.pool.fetchrow(IDEMPOTENCY, scope, key)
        if row is None:
            return None
        if bytes(row["request_hash"]) != request_hash:
            raise IdempotencyKeyReusedError(key)
        return StoredResponse(row["status"], row["response"])

    async def stream_version(self, stream_id: str) -> int:
        """Current version of a stream; 0 when it does not exist."""
        return await self.pool.fetchval(STREAM_VERSION, stream_id)

    async def read_stream(
        self,
        stream_id: str,
        *,
        to_version: int | None = None,
        as_of: datetime | None = None,
        upcast: bool = True,
    ) -> list[RecordedEvent]:
        """A stream's events in version order, up to a version and/or a moment."""
        rows = await self.pool.fetch(
            READ_STREAM,
            stream_id,
            _MAX_VERSION if to_version is None else to_version,
            _FAR_FUTURE if as_of is None else as_of,
        )
        events = self._decode(rows, upcast)
        self._learn_from(events)
        return events

    async def read_all(
        self,
        after: Cursor = START,
        limit: int = 1000,
        *,
        types: Iterable[str] | None = None,
        stream_id: str | None = None,
        conn: asyncpg.Connection | None = None,
        upcast: bool = True,
    ) -> list[RecordedEvent]:
        """The global feed after ``after``: every committed event exactly once, in order.

        Safe under concurrent writers: an event becomes visible only once every
        transaction that started before it has ended, so a reader that resumes
        from the last cursor it saw never skips a slower transaction's event.
        """
        runner = conn or self.pool
        if types is None and stream_id is None:
            rows = await runner.fetch(READ_ALL, after.tx_id, after.position, limit)
        else:
            rows = await runner.fetch(
                READ_ALL_FILTERED,
                after.tx_id,
                after.position,
                limit,
                list(types) if types is not None else None,
                stream_id,
            )
        return self._decode(rows, upcast)

    async def head(self, conn: asyncpg.Connection | None = None) -> Cursor:
        """Cursor of the last event a feed reader can see now."""
        row = await (conn or self.pool).fetchrow(HEAD)
        return START if row is None else Cursor(row["tx_id"], row["position"])

    async def count_after(self, after: Cursor) -> int:
        """How many visible events lie after ``after`` (projection lag)."""
        return await self.pool.fetchval(COUNT_AFTER, after.tx_id, after.position)

    async def oldest_transaction_age(self) -> int:
        """Age in transactions of the oldest open writing transaction (holds the feed back)."""
        return await self.pool.fetchval(OLDEST_XID_AGE)

    def _decode(self, rows: Iterable[asyncpg.Record], upcast: bool) -> list[RecordedEvent]:
        events = [_tuple_new(RecordedEvent, r) for r in rows]
        if upcast and self.upcasters:
            events = [self.upcasters.upcast(e) for e in events]
        return events

    async def read_for_command(
        self,
        stream_id: str,
        *,
        after_version: int = 0,
        scope: str | None = None,
        key: str | None = None,
        request_hash: bytes = b"",
    ) -> tuple[StoredResponse | None, list[RecordedEvent]]:
        """What a command reads, in one round trip: the response stored for its
        idempotency key if it ran before, otherwise the stream's events after
        ``after_version`` (0: all of them) in version order.

        Raises :class:`IdempotencyKeyReusedError` if the key came with another request.
        """
        rows = await self.pool.fetch(READ_FOR_COMMAND, stream_id, after_version, scope, key)
        first = rows[0]
        if first["request_hash"] is not None:
            if bytes(first["request_hash"]) != request_hash:
                raise IdempotencyKeyReusedError(key or "")
            return StoredResponse(first["status"], first["response"]), []
        if first["position"] is None:
            return None, []
        events = [self.upcasters.upcast(RecordedEvent(*row[3:])) for row in rows]
        self._learn_from(events)
        return None, events


def _committed(runner: asyncpg.Pool | asyncpg.Connection) -> bool:
    """Whether what ``runner`` just wrote or read is committed: a pool's statements
    run on their own, a connection's only outside a transaction block."""
    return not (isinstance(runner, asyncpg.Connection) and runner.is_in_transaction())


def fold(events: Iterable[S], initial: Any, evolve: Callable[[Any, S], Any]) -> Any:
    """Rebuild state: ``evolve`` applied to each event in turn, from ``initial``."""
    return functools.reduce(evolve, events, initial)
