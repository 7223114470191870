"""Catch-up subscriptions: projections fed from their checkpoints, one leader each."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

import asyncpg
import structlog

from shared.db import close_quietly, connect
from shared.eventstore.notify import channel_for
from shared.eventstore.store import EventStore
from shared.eventstore.types import Cursor, RecordedEvent
from shared.metrics import PROJECTION_APPLIED, PROJECTION_LAG
from shared.projections.base import Projection, lock_key
from shared.waiting import wait_at_most

log = structlog.get_logger(__name__)

_ENSURE_CHECKPOINT = "insert into checkpoints (name) values ($1) on conflict do nothing"
_READ_CHECKPOINT = "select tx_id, position from checkpoints where name = $1"
_LOCK_CHECKPOINT = "select tx_id, position from checkpoints where name = $1 for update"
_SAVE_CHECKPOINT = """
update checkpoints set tx_id = $2, position = $3, updated_at = now() where name = $1
"""
# Locks the checkpoint row and moves it past a batch, provided it is still where the
# batch follows on from: the first statement of a batch read from the shared feed.
_MOVE_CHECKPOINT = """
update checkpoints set tx_id = $4, position = $5, updated_at = now()
where name = $1 and tx_id = $2 and position = $3
returning true
"""
_TRY_LEAD = "select pg_try_advisory_lock($1)"
# A read model can always be written again from the events, so the leader's commits
# need not wait for the WAL to reach the disk: a crash may lose the last batches,
# each with its checkpoint move, and they are applied again.
_ASYNC_COMMIT = "select set_config('synchronous_commit', 'off', false)"
_LAG = """
select count(*) from (
    select 1 from events
    where (tx_id, position) > ($1::xid8, $2::bigint)
      and tx_id < pg_snapshot_xmin(pg_current_snapshot())
    limit $3
) behind
"""


# Pauses (seconds) between extra looks after a wake-up that found nothing yet.
RECHECKS = (0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128)
# Seconds a stopping projection task has before it is cancelled again.
STOP_RETRY = 0.2


class Feed(Protocol):
    """The process's shared reader of the feed (:class:`shared.fanout.LocalFeed`)."""

    def follow(self, after: Cursor, *, limit: int = ...) -> AsyncIterator[list[RecordedEvent]]:
        """Batches of the feed after ``after``, in order, forever."""
        ...


class InjectedCrashError(RuntimeError):
    """Raised by tests to simulate a crash after handlers ran, before commit."""


@dataclass(slots=True)
class ProjectionStatus:
    name: str
    checkpoint: Cursor
    lag: int
    leader: bool


async def read_checkpoint(conn: asyncpg.Connection | asyncpg.Pool, name: str) -> Cursor:
    """A projection's checkpoint (the beginning if it never ran)."""
    row = await conn.fetchrow(_READ_CHECKPOINT, name)
    return Cursor() if row is None else Cursor(row["tx_id"], row["position"])


async def apply_batch(
    conn: asyncpg.Connection,
    store: EventStore,
    projection: Projection,
    batch_size: int,
    *,
    crash_after_apply: bool = False,
) -> int:
    """Apply the next batch after the checkpoint, in one transaction with the checkpoint.

    Returns the number of events applied. The checkpoint row is locked first,
    so a rebuild swapping the projection waits for this batch or this batch
    waits for the swap, and never applies events twice.
    """
    peek = await read_checkpoint(conn, projection.name)
    if not await store.read_all(peek, 1, conn=conn, upcast=False):
        return 0
    async with conn.transaction():
        row = await conn.fetchrow(_LOCK_CHECKPOINT, projection.name)
        if row is None:
            await conn.execute(_ENSURE_CHECKPOINT, projection.name)
            row = await conn.fetchrow(_LOCK_CHECKPOINT, projection.name)
        checkpoint = Cursor(row["tx_id"], row["position"])
        events = await store.read_all(checkpoint, batch_size, conn=conn)
        if not events:
            return 0
        await projection.apply(conn, events)
        if crash_after_apply:
            raise InjectedCrashError(projection.name)
        last = events[-1].cursor
        await conn.execute(_SAVE_CHECKPOINT, projection.name, last.tx_id, last.position)
    return len(events)


async def apply_events(
    conn: asyncpg.Connection, projection: Projection, after: Cursor, events: list[RecordedEvent]
) -> bool:
    """Apply ``events``, read beforehand as the run of the feed that follows ``after``,
    in one transaction with the checkpoint — if the checkpoint is still at ``after``.

    Returns False, having changed nothing, when it is not (a rebuild swapped the
    projection in meanwhile). The checkpoint row is locked first, as in
    :func:`apply_batch`.
    """
    last = events[-1].cursor
    async with conn.transaction():
        moved = await conn.fetchval(
            _MOVE_CHECKPOINT,
            projection.name,
            after.tx_id,
            after.position,
            last.tx_id,
            last.position,
        )
        if not moved:
            return False
        await projection.apply(conn, events)
    return True


class ProjectionRunner:
    """Runs each projection once across all replicas (Postgres advisory lock).

    Each projection gets a dedicated connection that holds its leader lock; when
    the leader dies its session ends, the lock is released and another replica
    takes over within ``leader_retry`` seconds. With a ``feed`` (the process's
    shared reader, which the fan-out follows too) a projection takes its events
    from it; without one it reads them itself, woken by LISTEN.
    """

    def __init__(
        self,
        store: EventStore,
        url: str,
        schema: str,
        projections: list[Projection],
        *,
        service: str,
        batch_size: int = 1000,
        poll_seconds: float = 1.0,
        leader_retry: float = 1.0,
        feed: Feed | None = None,
    ) -> None:
        self.store = store
        self.url = url
        self.schema = schema
        self.service = service
        self.projections = {p.name: p for p in projections}
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.leader_retry = leader_retry
        self.feed = feed
        self.leading: set[str] = set()
        self._tasks: list[asyncio.Task] = []

    async def start(self) -> None:
        for projection in self.projections.values():
            task = asyncio.create_task(self._lead(projection), name=f"projection-{projection.name}")
            self._tasks.append(task)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            # Code a task awaits can lose a cancellation (asyncio.wait_for on Python
            # 3.11 drops one that meets a wake-up; see shared.waiting): ask again
            # until the task has ended, so that stopping never hangs.
            while not task.done():
                await asyncio.wait({task}, timeout=STOP_RETRY)
                if not task.done():
                    task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        self.leading.clear()

    async def status(self, cap: int = 100_000) -> list[ProjectionStatus]:
        """Checkpoint and lag (events not yet applied, capped) of each projection."""
        out = []
        async with self.store.pool.acquire() as conn:
            for name in self.projections:
                checkpoint = await read_checkpoint(conn, name)
                lag = await conn.fetchval(_LAG, checkpoint.tx_id, checkpoint.position, cap)
                PROJECTION_LAG.labels(self.service, name).set(lag)
                out.append(ProjectionStatus(name, checkpoint, lag, name in self.leading))
        return out

    async def _lead(self, projection: Projection) -> None:
        key = lock_key(self.schema, projection.name)
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await connect(self.url, self.schema)
                while not await conn.fetchval(_TRY_LEAD, key):
                    await asyncio.sleep(self.leader_retry)  # on the same session
                self.leading.add(projection.name)
                log.info("projection.leading", projection=projection.name)
                await conn.execute(_ASYNC_COMMIT)
                await conn.execute(_ENSURE_CHECKPOINT, projection.name)
                if self.feed is not None:
                    await self._follow_feed(conn, projection, self.feed)
                else:
                    await self._follow(conn, projection)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a broken batch is retried, never skipped
                log.error("projection.failed", projection=projection.name, error=repr(exc))
                await asyncio.sleep(self.leader_retry)
            finally:
                self.leading.discard(projection.name)
                if conn is not None:
                    await close_quietly(conn)

    async def _follow_feed(
        self, conn: asyncpg.Connection, projection: Projection, feed: Feed
    ) -> None:
        """Batches from the shared feed: no reads of our own, and each batch costs one
        transaction of the checkpoint move and the projection's writes."""
        while True:
            checkpoint = await read_checkpoint(conn, projection.name)
            batches = feed.follow(checkpoint, limit=self.batch_size)
            async with contextlib.aclosing(batches):
                async for events in batches:
                    if not await apply_events(conn, projection, checkpoint, events):
                        break  # moved under us (a rebuild): go on from where it is now
                    checkpoint = events[-1].cursor
                    self._applied(projection, len(events))
                    if projection.batch_window and len(events) < self.batch_size:
                        await asyncio.sleep(projection.batch_window)

    async def _follow(self, conn: asyncpg.Connection, projection: Projection) -> None:
        woken = asyncio.Event()
        await conn.add_listener(channel_for(self.schema), lambda *_: woken.set())
        rechecks: tuple[float, ...] = ()
        while True:
            if woken.is_set():
                woken.clear()
                rechecks = RECHECKS
            applied = await apply_batch(conn, self.store, projection, self.batch_size)
            if applied:
                self._applied(projection, applied)
                if applied == self.batch_size:
                    continue
                if projection.batch_window:
                    await asyncio.sleep(projection.batch_window)
            elif rechecks:
                # Woken, but the event may still sit behind an older open transaction
                # (below xmin only once that ends): look again, less and less often.
                pause, rechecks = rechecks[0], rechecks[1:]
                await wait_at_most(woken, pause)
                continue
            await wait_at_most(woken, self.poll_seconds)

    def _applied(self, projection: Projection, count: int) -> None:
        PROJECTION_APPLIED.labels(self.service, projection.name).inc(count)
