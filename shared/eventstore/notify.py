"""Wake-ups for feed readers, coalesced outside the append transactions.

A NOTIFY inside an append transaction takes a cluster-wide lock until commit,
which makes every notifying commit (fsync included) run one at a time. Instead
appends only set a flag; this task sends at most one NOTIFY per
``min_interval`` on its own connection, after the appends have committed.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from shared.db import connect

log = structlog.get_logger(__name__)

_NOTIFY = "select pg_notify($1, '')"


def channel_for(schema: str) -> str:
    """The LISTEN/NOTIFY channel of a service schema."""
    return f"dealtrail_events_{schema}"


class CoalescingNotifier:
    """Sends coalesced wake-ups on ``channel`` after :meth:`poke`."""

    def __init__(self, url: str, schema: str, *, min_interval: float = 0.002) -> None:
        self.url = url
        self.schema = schema
        self.channel = channel_for(schema)
        self.min_interval = min_interval
        self._pending = asyncio.Event()
        self._task: asyncio.Task | None = None

    def poke(self) -> None:
        """Ask for a wake-up (cheap; called after every append)."""
        self._pending.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"notifier-{self.schema}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        backoff = 0.1
        while True:
            try:
                conn = await connect(self.url, self.schema)
            except (OSError, ConnectionError, Exception) as exc:  # retried
                log.warning("notifier.connect_failed", error=str(exc))
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            backoff = 0.1
            try:
                while True:
                    await self._pending.wait()
                    self._pending.clear()
                    await conn.execute(_NOTIFY, self.channel)
                    await asyncio.sleep(self.min_interval)
            except asyncio.CancelledError:
                await conn.close()
                raise
            except Exception as exc:  # reconnect; readers also poll
                log.warning("notifier.failed", error=str(exc))
                with contextlib.suppress(Exception):
                    await conn.close()
