"""wait_at_most: a time-limited wait that always lets a cancellation through."""

from __future__ import annotations

import asyncio

import pytest

from shared.waiting import wait_at_most


async def test_returns_true_when_set_and_false_after_the_limit() -> None:
    event = asyncio.Event()
    assert await wait_at_most(event, 0.01) is False
    asyncio.get_running_loop().call_later(0.01, event.set)
    assert await wait_at_most(event, 5) is True


async def test_a_cancellation_in_the_same_turn_as_the_event_is_not_lost() -> None:
    event = asyncio.Event()

    async def poll_forever() -> None:
        while True:
            await wait_at_most(event, 1.0)
            event.clear()

    for _ in range(50):
        task = asyncio.create_task(poll_forever())
        await asyncio.sleep(0)  # the task is now waiting on the event
        event.set()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 2)
