"""The newest part of the feed, read once per process and shared by every follower.

Without it each SSE client, each webhook subscription and the NATS publisher
would query the database after every wake-up: one event appended, N reads.
Here one reader task follows the feed (with the same wake-ups and rechecks as
everyone else) and keeps the last ``capacity`` events in memory, a gap-free
run of the feed from ``start`` (exclusive) to ``last``. A follower whose
cursor falls inside that run is served from memory; one further behind
(catching up, or a webhook receiver back from an outage) reads the database
until it reaches the run. If the reader fails, the run is dropped and every
follower reads the database until the reader is back. While nobody follows
(a replica that leads no projection and serves no subscriber) the reader rests
instead of reading after every wake-up, and starts again from the head when a
follower comes.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import structlog

from shared.eventstore.store import EventStore
from shared.eventstore.types import Cursor, RecordedEvent
from shared.fanout.wakeup import Wakeups, tail
from shared.waiting import wait_at_most

log = structlog.get_logger(__name__)

Idle = Callable[[], Awaitable[None]]


class LocalFeed:
    """A shared in-memory window on the end of the feed (events upcast, as the feed serves them)."""

    def __init__(
        self,
        store: EventStore,
        wakeups: Wakeups,
        *,
        capacity: int = 10_000,
        poll_seconds: float = 1.0,
    ) -> None:
        self.store = store
        self.wakeups = wakeups
        self.capacity = capacity
        self.poll_seconds = poll_seconds
        self.start: Cursor | None = None  # None: no window, read the database
        self.last = Cursor()
        self._events: list[RecordedEvent] = []
        self._cursors: list[Cursor] = []
        self._changed = asyncio.Event()
        self._task: asyncio.Task | None = None
        self.followers = 0
        self._followed = asyncio.Event()

    async def start_reading(self) -> None:
        """Start the reader task."""
        self._task = asyncio.create_task(self._read(), name="local-feed")

    async def stop(self) -> None:
        """Stop the reader task (followers then read the database)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.start = None
        self._events, self._cursors = [], []

    async def follow(
        self,
        after: Cursor,
        *,
        limit: int = 500,
        types: Sequence[str] | None = None,
        stream_id: str | None = None,
        idle: Idle | None = None,
    ) -> AsyncIterator[list[RecordedEvent]]:
        """Batches of the feed after ``after`` (optionally filtered), forever, in order."""
        self.followers += 1
        self._followed.set()
        try:
            async for batch in self._follow(after, limit, types, stream_id, idle):
                yield batch
        finally:
            self.followers -= 1
            if not self.followers:
                self._followed.clear()

    async def _follow(
        self,
        after: Cursor,
        limit: int,
        types: Sequence[str] | None,
        stream_id: str | None,
        idle: Idle | None,
    ) -> AsyncIterator[list[RecordedEvent]]:
        wanted = frozenset(types) if types is not None else None
        cursor = after
        while True:
            start = self.start
            if start is not None and cursor >= start:
                changed = self._changed
                batch, seen_to = self._after(cursor, limit, wanted, stream_id)
                if batch:
                    yield batch
                    cursor = batch[-1].cursor
                    continue
                cursor = max(cursor, seen_to)  # nothing wanted in between
                if idle is not None:
                    await idle()
                await wait_at_most(changed, self.poll_seconds)
                continue
            # Behind the window (or no window): read the database. Every event up
            # to the window's start was readable before this read began, so an
            # empty answer means nothing wanted lies before that start.
            token = self.wakeups.token()
            start = self.start
            batch = await self.store.read_all(cursor, limit, types=types, stream_id=stream_id)
            if batch:
                yield batch
                cursor = batch[-1].cursor
            elif start is not None:
                cursor = max(cursor, start)
            else:
                if idle is not None:
                    await idle()
                await self.wakeups.wait(token, self.poll_seconds)

    def _after(
        self, cursor: Cursor, limit: int, types: frozenset[str] | None, stream_id: str | None
    ) -> tuple[list[RecordedEvent], Cursor]:
        """Wanted events after ``cursor`` in the window, and how far the window was looked at."""
        index = bisect.bisect_right(self._cursors, cursor)
        out: list[RecordedEvent] = []
        seen_to = cursor
        for event in self._events[index:]:
            seen_to = event.cursor
            if (types is None or event.type in types) and (
                stream_id is None or event.stream_id == stream_id
            ):
                out.append(event)
                if len(out) == limit:
                    break
        if len(out) < limit:
            seen_to = max(seen_to, self.last)
        return out, seen_to

    def _append(self, batch: list[RecordedEvent]) -> None:
        self._events.extend(batch)
        self._cursors.extend(e.cursor for e in batch)
        self.last = batch[-1].cursor
        overflow = len(self._events) - self.capacity
        if overflow > self.capacity // 4:  # trim in chunks, not per event
            self.start = self._cursors[overflow - 1]
            del self._events[:overflow]
            del self._cursors[:overflow]
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def _read(self) -> None:
        backoff = 0.1
        while True:
            await self._followed.wait()
            failed = False
            try:
                head = await self.store.head()
                self._events, self._cursors = [], []
                self.start = self.last = head
                async for batch in tail(
                    self.store, self.wakeups, head, limit=1000, poll_seconds=self.poll_seconds
                ):
                    self._append(batch)
                    backoff = 0.1
                    if not self.followers:
                        break  # nobody left: rest until someone follows again
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # followers read the database meanwhile
                log.warning("local_feed.failed", error=repr(exc))
                failed = True
            self.start = None
            self._events, self._cursors = [], []
            if failed:
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
