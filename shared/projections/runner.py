"""Catch-up subscriptions: projections fed from their checkpoints, one leader each."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

import asyncpg
import structlog

from shared.db import connect
from shared.eventstore.notify import channel_for
from shared.eventstore.store import EventStore
from shared.eventstore.types import Cursor
from shared.metrics import PROJECTION_APPLIED, PROJECTION_LAG
from shared.projections.base import Projection, lock_key

log = structlog.get_logger(__name__)

_ENSURE_CHECKPOINT = "insert into checkpoints (name) values ($1) on conflict do nothing"
_READ_CHECKPOINT = "select tx_id, position from checkpoints where name = $1"
_LOCK_CHECKPOINT = "select tx_id, position from checkpoints where name = $1 for update"
_SAVE_CHECKPOINT = """
update checkpoints set tx_id = $2, position = $3, updated_at = now() where name = $1
"""
_TRY_LEAD = "select pg_try_advisory_lock($1)"
_LAG = """
select count(*) from (
    select 1 from events
    where (tx_id, position) > ($1::xid8, $2::bigint)
      and tx_id < pg_snapshot_xmin(pg_current_snapshot())
    limit $3
) behind
"""


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


class ProjectionRunner:
    """Runs each projection once across all replicas (Postgres advisory lock).

    Each projection gets a dedicated connection that holds its leader lock and
    LISTENs for wake-ups; when the leader dies its session ends, the lock is
    released and another replica takes over within ``leader_retry`` seconds.
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
    ) -> None:
        self.store = store
        self.url = url
        self.schema = schema
        self.service = service
        self.projections = {p.name: p for p in projections}
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.leader_retry = leader_retry
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
                if not await conn.fetchval(_TRY_LEAD, key):
                    await conn.close()
                    await asyncio.sleep(self.leader_retry)
                    continue
                self.leading.add(projection.name)
                log.info("projection.leading", projection=projection.name)
                await self._follow(conn, projection)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a broken batch is retried, never skipped
                log.error("projection.failed", projection=projection.name, error=repr(exc))
                await asyncio.sleep(self.leader_retry)
            finally:
                self.leading.discard(projection.name)
                if conn is not None and not conn.is_closed():
                    with contextlib.suppress(Exception):
                        await asyncio.shield(conn.close())

    async def _follow(self, conn: asyncpg.Connection, projection: Projection) -> None:
        await conn.execute(_ENSURE_CHECKPOINT, projection.name)
        woken = asyncio.Event()
        await conn.add_listener(channel_for(self.schema), lambda *_: woken.set())
        eager_until = 0.0
        while True:
            applied = await apply_batch(conn, self.store, projection, self.batch_size)
            if applied:
                PROJECTION_APPLIED.labels(self.service, projection.name).inc(applied)
                if applied == self.batch_size:
                    continue
                if projection.batch_window:
                    await asyncio.sleep(projection.batch_window)
            if applied == 0 and time.monotonic() < eager_until:
                # Woken, but the event may still sit behind an older open
                # transaction (below xmin only once that ends): look again soon.
                await asyncio.sleep(0.003)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(woken.wait(), self.poll_seconds)
            if woken.is_set():
                woken.clear()
                eager_until = time.monotonic() + 0.25
