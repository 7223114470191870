"""The event store: append with optimistic concurrency, per-stream reads, the global feed."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import asyncpg

from shared.eventstore.canonical import event_body
from shared.eventstore.types import (
    START,
    Cursor,
    IdempotencyKeyReusedError,
    NewEvent,
    RecordedEvent,
    WrongExpectedVersionError,
)
from shared.eventstore.upcasting import Upcasters

S = TypeVar("S")

WRONG_VERSION_SQLSTATE = "DT409"

_APPEND = """
select append_events($1, $2, $3, $4::uuid[], $5::text[], $6::integer[], $7::jsonb[],
                     $8::jsonb[], $9::text[], $10, $11, $12, $13, $14, $15)
"""
# One event, the common case, as one statement (no function call, no arrays):
# the stream row moves to the new version and head hash only if it is still at
# the expected version (a concurrent writer makes it match no row), then the
# event and the idempotency record are written from that row. No row back
# means a version conflict and nothing written.
_ONE_EVENT_TAIL = """
, idem as (
    insert into idempotency (scope, key, request_hash, status, response, stream_id)
    select $11, $12, $13, $14, $15, $1 from head where $12::text is not null
)
insert into events (stream_id, stream_type, version, event_id, event_type,
                    schema_version, data, metadata, recorded_at, hash)
select $1, $2, head.version, $4, $5, $6, $7, $8, $10, head.last_hash from head
returning position
"""
_APPEND_ONE_TO_NEW = (
    """
with head as (
    insert into streams (stream_id, stream_type, version, last_hash)
    values ($1, $2, $3 + 1, sha256(convert_to($9, 'UTF8')))
    on conflict do nothing
    returning version, last_hash
)"""
    + _ONE_EVENT_TAIL
)
_APPEND_ONE_TO_EXISTING = (
    """
with head as (
    update streams
    set version = version + 1,
        last_hash = sha256(coalesce(last_hash, ''::bytea) || convert_to($9, 'UTF8'))
    where stream_id = $1 and version = $3
    returning version, last_hash
)"""
    + _ONE_EVENT_TAIL
)
_COLUMNS = """position, tx_id, stream_id, stream_type, version, event_id, event_type,
              schema_version, data, metadata, recorded_at, hash"""
_READ_STREAM = f"""
select {_COLUMNS} from events
where stream_id = $1 and version <= $2 and recorded_at <= $3
order by version
"""
# Only transactions older than every running one are read: their ids are below
# the snapshot's xmin, so nothing that commits later can sort before them.
_READ_ALL = f"""
select {_COLUMNS} from events
where (tx_id, position) > ($1::xid8, $2::bigint)
  and tx_id < pg_snapshot_xmin(pg_current_snapshot())
order by tx_id, position
limit $3
"""
_READ_ALL_FILTERED = f"""
select {_COLUMNS} from events
where (tx_id, position) > ($1::xid8, $2::bigint)
  and tx_id < pg_snapshot_xmin(pg_current_snapshot())
  and ($4::text[] is null or event_type = any($4::text[]))
  and ($5::text is null or stream_id = $5::text)
order by tx_id, position
limit $3
"""
_HEAD = """
select tx_id, position from events
where tx_id < pg_snapshot_xmin(pg_current_snapshot())
order by tx_id desc, position desc
limit 1
"""
_STREAM_VERSION = "select version from streams where stream_id = $1"
_IDEMPOTENCY = """
select request_hash, status, response from idempotency where scope = $1 and key = $2
"""
_COUNT_AFTER = """
select count(*) from events
where (tx_id, position) > ($1::xid8, $2::bigint)
  and tx_id < pg_snapshot_xmin(pg_current_snapshot())
"""
_OLDEST_XID_AGE = """
select coalesce(max(age(backend_xid)), 0)::bigint from pg_stat_activity
where backend_xid is not null
"""

_FAR_FUTURE = datetime.max.replace(tzinfo=UTC)
_MAX_VERSION = 2**31 - 1


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    """A command's idempotency key and the response to replay for it."""

    scope: str
    key: str
    request_hash: bytes
    status: int
    response: Any


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status: int
    body: Any


@dataclass(frozen=True, slots=True)
class AppendResult:
    stream_id: str
    version: int
    position: int


def _row_to_event(row: asyncpg.Record) -> RecordedEvent:
    # _COLUMNS is in RecordedEvent's field order; positional construction halves
    # the per-row cost of the feed compared with lookups by name.
    return RecordedEvent(*row)


# A command's reads in one round trip: the response stored for its idempotency key
# and, only when there is none, the stream's events after the version the caller
# has already folded. Every row repeats the (null) record; with no events there is
# one row of nulls.
_READ_FOR_COMMAND = f"""
select i.request_hash, i.status, i.response, e.*
from (values (1)) as one (x)
left join idempotency i on i.scope = $3 and i.key = $4
left join lateral (
    select {_COLUMNS} from events
    where stream_id = $1 and version > $2 and i.key is null
) e on true
order by e.version
"""


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
        idem = idempotency
        idem_args = (
            (idem.scope, idem.key, idem.request_hash, idem.status, idem.response)
            if idem
            else (None, None, None, None, None)
        )
        if len(events) == 1:
            event = events[0]
            sql = _APPEND_ONE_TO_NEW if expected_version == 0 else _APPEND_ONE_TO_EXISTING
            args: tuple = (
                stream_id,
                stream_type,
                expected_version,
                event.event_id,
                event.type,
                event.schema_version,
                event.data,
                meta,
                bodies[0],
                recorded_at,
                *idem_args,
            )
        else:
            sql = _APPEND
            args = (
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
                *idem_args,
            )
        runner = conn if conn is not None else self.pool
        try:
            position = await runner.fetchval(sql, *args)
        except asyncpg.PostgresError as exc:
            if getattr(exc, "sqlstate", None) == WRONG_VERSION_SQLSTATE:
                actual = int(getattr(exc, "detail", None) or 0)
                raise WrongExpectedVersionError(stream_id, expected_version, actual) from exc
            raise
        if position is None:  # the one-event statement matched no stream row
            actual = await runner.fetchval(_STREAM_VERSION, stream_id) or 0
            raise WrongExpectedVersionError(stream_id, expected_version, actual)
        if self.on_append is not None and events:
            self.on_append()
        return AppendResult(stream_id, expected_version + len(events), position)

    async def find_response(
        self, scope: str, key: str, request_hash: bytes
    ) -> StoredResponse | None:
        """The stored response for an idempotency key, if the command ran before.

        Raises :class:`IdempotencyKeyReusedError` if the key came with another request.
        """
        row = await self.pool.fetchrow(_IDEMPOTENCY, scope, key)
        if row is None:
            return None
        if bytes(row["request_hash"]) != request_hash:
            raise IdempotencyKeyReusedError(key)
        return StoredResponse(row["status"], row["response"])

    async def stream_version(self, stream_id: str) -> int:
        """Current version of a stream; 0 when it does not exist."""
        return await self.pool.fetchval(_STREAM_VERSION, stream_id) or 0

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
            _READ_STREAM,
            stream_id,
            _MAX_VERSION if to_version is None else to_version,
            _FAR_FUTURE if as_of is None else as_of,
        )
        return self._decode(rows, upcast)

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
            rows = await runner.fetch(_READ_ALL, after.tx_id, after.position, limit)
        else:
            rows = await runner.fetch(
                _READ_ALL_FILTERED,
                after.tx_id,
                after.position,
                limit,
                list(types) if types is not None else None,
                stream_id,
            )
        return self._decode(rows, upcast)

    async def head(self, conn: asyncpg.Connection | None = None) -> Cursor:
        """Cursor of the last event a feed reader can see now."""
        row = await (conn or self.pool).fetchrow(_HEAD)
        return START if row is None else Cursor(row["tx_id"], row["position"])

    async def count_after(self, after: Cursor) -> int:
        """How many visible events lie after ``after`` (projection lag)."""
        return await self.pool.fetchval(_COUNT_AFTER, after.tx_id, after.position)

    async def oldest_transaction_age(self) -> int:
        """Age in transactions of the oldest open writing transaction (holds the feed back)."""
        return await self.pool.fetchval(_OLDEST_XID_AGE)

    def _decode(self, rows: Iterable[asyncpg.Record], upcast: bool) -> list[RecordedEvent]:
        events = [_row_to_event(r) for r in rows]
        if upcast:
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
        rows = await self.pool.fetch(_READ_FOR_COMMAND, stream_id, after_version, scope, key)
        first = rows[0]
        if first["request_hash"] is not None:
            if bytes(first["request_hash"]) != request_hash:
                raise IdempotencyKeyReusedError(key or "")
            return StoredResponse(first["status"], first["response"]), []
        if first["position"] is None:
            return None, []
        return None, [self.upcasters.upcast(RecordedEvent(*row[3:])) for row in rows]


def fold(events: Iterable[S], initial: Any, evolve: Callable[[Any, S], Any]) -> Any:
    """Rebuild state: ``evolve`` applied to each event in turn, from ``initial``."""
    return functools.reduce(evolve, events, initial)
