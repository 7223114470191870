"""Waiting for an asyncio event with a time limit, without losing a cancellation."""

from __future__ import annotations

import asyncio
import contextlib


async def wait_at_most(event: asyncio.Event, seconds: float) -> bool:
    """Wait until ``event`` is set or ``seconds`` pass; True if it is set.

    Built on :func:`asyncio.timeout`, not :func:`asyncio.wait_for`: on Python
    3.11, ``wait_for`` drops a cancellation that arrives in the same loop turn
    as the event is set, and a loop that waits this way then never stops (a
    replica hanging at shutdown).
    """
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()
    return event.is_set()
