"""Run a piece of work in one replica at a time, like the projectors do.

The leader holds a session-level advisory lock on a connection of its own.
If that connection dies the lock is gone, so the leader pings it and stops
its work as soon as a ping fails; another replica's next try then wins.
Workers still protect their checkpoints with compare-and-set updates, so
even a leader that lost its lock without noticing cannot move one back.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import asyncpg
import structlog

from shared.db import close_quietly, connect
from shared.projections.base import lock_key

log = structlog.get_logger(__name__)

_TRY_LEAD = "select pg_try_advisory_lock($1)"
_PING = "select 1"


class Leadership:
    """Runs ``work`` while this process holds the lock named ``name`` in ``schema``."""

    def __init__(
        self,
        url: str,
        schema: str,
        name: str,
        work: Callable[[], Awaitable[None]],
        *,
        retry: float = 1.0,
    ) -> None:
        self.url = url
        self.schema = schema
        self.name = name
        self.work = work
        self.retry = retry
        self.leading = False
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        """Start competing for the lock in the background."""
        self._task = asyncio.create_task(self._run(), name=f"leader-{self.name}")

    async def stop(self) -> None:
        """Stop the work and give up the lock."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        key = lock_key(self.schema, self.name)
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await connect(self.url, self.schema)
                while not await conn.fetchval(_TRY_LEAD, key):
                    await asyncio.sleep(self.retry)
                self.leading = True
                log.info("leader.acquired", role=self.name, schema=self.schema)
                await self._lead(conn)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a failed leader retries; nothing is skipped
                log.error("leader.failed", role=self.name, error=repr(exc))
            finally:
                self.leading = False
                if conn is not None:
                    await close_quietly(conn)
            await asyncio.sleep(self.retry)

    async def _lead(self, conn: asyncpg.Connection) -> None:
        work = asyncio.create_task(self.work(), name=f"work-{self.name}")
        try:
            while not work.done():
                await asyncio.wait({work}, timeout=self.retry)
                if not work.done():
                    async with asyncio.timeout(self.retry * 5):
                        await conn.fetchval(_PING)
            work.result()
        finally:
            if not work.done():
                work.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await work
