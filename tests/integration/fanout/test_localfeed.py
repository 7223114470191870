"""The shared in-memory window on the feed: followers in memory, behind it, and without it."""

from __future__ import annotations

import asyncio
import uuid

from shared.eventstore import EventStore, NewEvent
from shared.eventstore.notify import CoalescingNotifier
from shared.eventstore.types import START
from shared.fanout.localfeed import LocalFeed
from shared.fanout.wakeup import Wakeups
from tests.integration.fanout.conftest import until


async def append(store: EventStore, n: int) -> None:
    for i in range(n):
        await store.append(
            f"s-{uuid.uuid4().hex[:8]}", "thing", 0, [NewEvent("A" if i % 3 else "B", {"i": i})]
        )


async def collect(feed: LocalFeed, into: list, pause: float = 0.0, **filters) -> None:
    async for batch in feed.follow(START, limit=4, **filters):
        into.extend(batch)
        await asyncio.sleep(pause)


async def test_followers_see_the_whole_feed_in_order_in_and_behind_the_window(
    db_url, schema, pool
) -> None:
    notifier = CoalescingNotifier(db_url, schema)
    store = EventStore(pool, on_append=notifier.poke)
    await append(store, 10)  # before the window exists: only in the database
    wakeups = Wakeups(db_url, schema)
    feed = LocalFeed(store, wakeups, capacity=8, poll_seconds=0.3)
    await notifier.start()
    await wakeups.start()
    await feed.start_reading()
    fast, slow, only_b = [], [], []
    followers = [
        asyncio.create_task(collect(feed, fast)),
        asyncio.create_task(collect(feed, slow, pause=0.05)),  # falls behind the window
        asyncio.create_task(collect(feed, only_b, types=["B"])),
    ]
    try:
        await until(lambda: feed.start is not None, what="a window")
        for _ in range(5):
            await append(store, 12)
        everything = await store.read_all(START, 1000)
        assert len(everything) == 70
        await until(lambda: len(fast) == 70 and len(slow) == 70, what="all events")
        await until(lambda: len(only_b) == 24, what="the B events")
        assert feed.start > everything[0].cursor  # the window moved on
        ids = [e.event_id for e in everything]
        assert [e.event_id for e in fast] == ids
        assert [e.event_id for e in slow] == ids
        assert [e.event_id for e in only_b] == [e.event_id for e in everything if e.type == "B"]

        await feed.stop()  # no window: followers carry on from the database
        await append(store, 3)
        await until(lambda: len(fast) == 73 and len(slow) == 73, what="events without a window")
    finally:
        for task in followers:
            task.cancel()
        await asyncio.gather(*followers, return_exceptions=True)
        await feed.stop()
        await wakeups.stop()
        await notifier.stop()


class CountingStore(EventStore):
    """The real store, counting its feed reads."""

    reads = 0

    async def read_all(self, *args, **kwargs):
        self.reads += 1
        return await super().read_all(*args, **kwargs)


async def test_the_reader_rests_while_nobody_follows(db_url, schema, pool) -> None:
    notifier = CoalescingNotifier(db_url, schema)
    store = CountingStore(pool, on_append=notifier.poke)
    wakeups = Wakeups(db_url, schema)
    feed = LocalFeed(store, wakeups, poll_seconds=0.1)
    await notifier.start()
    await wakeups.start()
    await feed.start_reading()
    got: list = []
    follower = None
    try:
        await append(store, 5)
        await asyncio.sleep(0.4)
        assert store.reads == 0 and feed.start is None

        follower = asyncio.create_task(collect(feed, got))
        await until(lambda: feed.start is not None, what="a window once followed")
        await append(store, 5)
        await until(lambda: len(got) == 10, what="every event, old and new")

        follower.cancel()
        await asyncio.gather(follower, return_exceptions=True)
        await append(store, 1)  # the reader takes this batch, finds no follower, rests
        await until(lambda: feed.start is None, what="the reader to rest")
        resting = store.reads
        await append(store, 5)
        await asyncio.sleep(0.4)
        assert store.reads == resting
    finally:
        if follower is not None:
            follower.cancel()
            await asyncio.gather(follower, return_exceptions=True)
        await feed.stop()
        await wakeups.stop()
        await notifier.stop()
