"""Wake-ups for everything that follows the feed in one process, and a tail helper.

One connection per process LISTENs on the service's channel (the coalescing
notifier NOTIFYs after appends commit, in any replica) and wakes every
waiter at once, so a hundred SSE clients cost one listening connection, not
a hundred. A NOTIFY can arrive before the event is readable: the feed shows
an event only once every older transaction has ended. So after a wake-up
the tail looks again a few times with growing pauses before it goes back
to waiting, and a slow fallback poll covers anything else.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import asyncpg
import structlog

from shared.db import close_quietly, connect
from shared.eventstore.notify import channel_for
from shared.eventstore.store import EventStore
from shared.eventstore.types import Cursor, RecordedEvent
from shared.waiting import wait_at_most

log = structlog.get_logger(__name__)


def subscriptions_channel(schema: str) -> str:
    """The LISTEN/NOTIFY channel on which webhook subscription changes are announced."""
    return f"dealtrail_subscriptions_{schema}"


# Pauses (seconds) between extra reads after a wake-up that found nothing yet.
RECHECKS = (0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128)


class Wakeups:
    """A process-wide broadcast of "new events may be readable".

    Take a :meth:`token` *before* reading, then :meth:`wait` on it: a
    wake-up that lands between the read and the wait is not lost. The same
    connection hears announcements of subscription changes (the payload is
    the subscription id) and hands them to :meth:`on_subscription_change`
    callbacks, in order with the event wake-ups.
    """

    def __init__(self, url: str, schema: str) -> None:
        self.url = url
        self.schema = schema
        self.channel = channel_for(schema)
        self._event = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._change_callbacks: list[Callable[[str], None]] = []

    def on_subscription_change(self, callback: Callable[[str], None]) -> Callable[[], None]:
        """Call ``callback(subscription_id)`` on each announced change; returns an unsubscribe."""
        self._change_callbacks.append(callback)
        return lambda: self._change_callbacks.remove(callback)

    def _changed(self, payload: str) -> None:
        for callback in list(self._change_callbacks):
            callback(payload)

    def token(self) -> asyncio.Event:
        """The current wake-up generation; set as soon as a wake-up happens."""
        return self._event

    async def wait(self, token: asyncio.Event, timeout: float) -> bool:
        """Wait until ``token``'s generation is woken or ``timeout`` passes; True if woken."""
        if token.is_set():
            return True
        await wait_at_most(token, timeout)
        return token.is_set()

    def wake(self) -> None:
        """Wake every waiter (called on NOTIFY; also usable in-process)."""
        current, self._event = self._event, asyncio.Event()
        current.set()

    async def start(self) -> None:
        """Start listening in the background."""
        self._task = asyncio.create_task(self._run(), name=f"wakeups-{self.schema}")

    async def stop(self) -> None:
        """Stop listening and close the connection."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        backoff = 0.1
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await connect(self.url, self.schema)
                lost = asyncio.Event()
                conn.add_termination_listener(lambda *_, lost=lost: lost.set())
                await conn.add_listener(self.channel, lambda *_: self.wake())
                await conn.add_listener(
                    subscriptions_channel(self.schema), lambda *args: self._changed(args[3])
                )
                backoff = 0.1
                self.wake()  # whatever happened while we were not listening
                self._changed("")
                await lost.wait()
                log.warning("wakeups.connection_lost", schema=self.schema)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # readers keep polling meanwhile
                log.warning("wakeups.failed", schema=self.schema, error=repr(exc))
            finally:
                if conn is not None:
                    await close_quietly(conn)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)


async def tail(
    store: EventStore,
    wakeups: Wakeups,
    after: Cursor,
    *,
    limit: int = 500,
    types: Sequence[str] | None = None,
    stream_id: str | None = None,
    poll_seconds: float = 1.0,
    upcast: bool = True,
    idle: Callable[[], Awaitable[None]] | None = None,
) -> AsyncIterator[list[RecordedEvent]]:
    """Batches of the feed after ``after``, forever, woken promptly after appends.

    ``idle`` is awaited whenever a read finds nothing new (before pausing),
    e.g. to flush work that was held back while events kept coming.
    """
    cursor = after
    rechecks: tuple[float, ...] = ()
    seen: asyncio.Event | None = None
    while True:
        token = wakeups.token()
        if token is not seen:  # woken since the last read: look again a few times
            seen, rechecks = token, RECHECKS
        batch = await store.read_all(cursor, limit, types=types, stream_id=stream_id, upcast=upcast)
        if batch:
            yield batch
            cursor = batch[-1].cursor
            continue
        if idle is not None:
            await idle()
        if rechecks:
            pause, rechecks = rechecks[0], rechecks[1:]
            await asyncio.sleep(pause)
        else:
            await wakeups.wait(token, poll_seconds)
