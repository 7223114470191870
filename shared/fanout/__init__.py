"""Events leaving a service: SSE, webhooks and NATS JetStream, woken by one listener.

:class:`Fanout` is what a running service holds (``runtime.extras["fanout"]``):
the process-wide :class:`~shared.fanout.wakeup.Wakeups` and the shared
:class:`~shared.fanout.localfeed.LocalFeed` that every follower reads, and —
in one replica at a time each — the webhook delivery worker and, when
``NATS_URL`` is set, the JetStream publisher.
"""

from __future__ import annotations

from shared.eventstore.store import EventStore
from shared.fanout import subscriptions
from shared.fanout.jetstream import JetStreamPublisher
from shared.fanout.leader import Leadership
from shared.fanout.localfeed import LocalFeed
from shared.fanout.wakeup import Wakeups
from shared.fanout.webhooks import WebhookWorker

WEBHOOKS_LOCK = "fanout:webhooks"
NATS_LOCK = "fanout:nats"


class Fanout:
    """Wake-ups for this process plus the leader-elected webhook and NATS workers."""

    def __init__(self, settings, store: EventStore, *, service: str, schema: str) -> None:
        url = settings.database_url
        self.settings = settings
        self.store = store
        self.wakeups = Wakeups(url, schema)
        self.feed = LocalFeed(store, self.wakeups, poll_seconds=settings.fanout_poll_seconds)
        self.webhooks = WebhookWorker(store, self.feed, settings, service)
        self.nats = (
            JetStreamPublisher(store, self.feed, settings, service) if settings.nats_url else None
        )
        self.webhooks_leader = Leadership(url, schema, WEBHOOKS_LOCK, self.webhooks.run)
        self.nats_leader = (
            Leadership(url, schema, NATS_LOCK, self.nats.run) if self.nats is not None else None
        )
        self.subscriptions_ready = False
        self._started: list[Leadership] = []

    async def start(self) -> None:
        """Listen for wake-ups; compete for the workers' leadership if this replica runs them."""
        await self.wakeups.start()
        await self.feed.start_reading()
        self.subscriptions_ready = await subscriptions.table_exists(self.store.pool)
        if not self.settings.fanout_enabled:
            return
        if self.subscriptions_ready:
            self._started.append(self.webhooks_leader)
        if self.nats_leader is not None:
            self._started.append(self.nats_leader)
        for leader in self._started:
            await leader.start()

    async def stop(self) -> None:
        """Stop the workers (releasing their locks) and the listener."""
        for leader in reversed(self._started):
            await leader.stop()
        self._started.clear()
        await self.feed.stop()
        await self.wakeups.stop()


__all__ = ["Fanout", "JetStreamPublisher", "Leadership", "LocalFeed", "Wakeups", "WebhookWorker"]
