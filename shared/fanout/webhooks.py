"""The webhook delivery worker: each subscription follows the feed from its own checkpoint.

Runs in one replica at a time (advisory lock, see :mod:`shared.fanout.leader`).
Inside the leader each active subscription has a task that posts its events
one at a time, in feed order, as CloudEvents signed the Standard Webhooks
way, and moves the subscription's checkpoint only after a 2xx answer. Any
other outcome is retried from the same event with exponential backoff and
jitter, for as long as it takes: nothing is skipped, so a receiver that was
down for an hour gets everything, in order, when it returns. Delivery is at
least once (a crash between the answer and the checkpoint repeats one
event); receivers de-duplicate on ``webhook-id``, the event id.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from uuid import UUID

import structlog
from cryptography.exceptions import InvalidTag
from prometheus_client import Counter

from shared.eventstore.store import EventStore
from shared.eventstore.types import RecordedEvent
from shared.fanout import cloudevents, signing
from shared.fanout import subscriptions as subs
from shared.fanout.http1 import DeliveryClient, HttpDeliveryError
from shared.fanout.localfeed import LocalFeed
from shared.fanout.targets import Target, TargetRefusedError, parse_allow_list, resolve_target
from shared.waiting import wait_at_most

log = structlog.get_logger(__name__)

DELIVERIES = Counter(
    "dealtrail_webhook_deliveries_total", "Webhook delivery attempts", ["service", "outcome"]
)
BATCH = 100
FLUSH_SECONDS = 0.05
TARGET_TTL = 30.0
USER_AGENT = "dealtrail-webhooks/1"


def backoff_delay(
    attempt: int, base: float, cap: float, rand: Callable[[], float] = random.random
) -> float:
    """Delay before retry number ``attempt`` (1-based): exponential, capped, half jittered."""
    ceiling = min(cap, base * 2 ** min(attempt - 1, 32))
    return ceiling / 2 + rand() * ceiling / 2


class DeliveryFailedError(Exception):
    """One attempt did not get a 2xx answer."""


class CheckpointMovedError(Exception):
    """The subscription was paused, removed or advanced by someone else."""


class WebhookWorker:
    """Delivers every active subscription's events; run it under a :class:`Leadership`."""

    def __init__(self, store: EventStore, feed: LocalFeed, settings, service: str) -> None:
        self.store = store
        self.pool = store.pool
        self.feed = feed
        self.wakeups = feed.wakeups
        self.settings = settings
        self.service = service
        self.allow_hosts = parse_allow_list(settings.webhook_allow_hosts)
        self._targets: dict[str, tuple[float, Target]] = {}

    async def run(self) -> None:
        """Supervise one delivery task per active subscription until cancelled."""
        if not await subs.table_exists(self.pool):
            log.warning("webhooks.disabled", reason="webhook_subscriptions table is missing")
            await asyncio.Event().wait()  # idle while leading; migrate and restart to enable
        tasks: dict[UUID, tuple[datetime, asyncio.Task]] = {}
        refresh = asyncio.Event()

        def changed(subscription_id: str) -> None:
            # Stop that subscription's deliveries now (synchronously, before the
            # wake-ups that follow this notification); the refresh restarts it
            # with its new settings if it is still active.
            for sub_id, (_, task) in tasks.items():
                if str(sub_id) == subscription_id:
                    task.cancel()
            refresh.set()

        forget = self.wakeups.on_subscription_change(changed)
        try:
            while True:
                refresh.clear()
                await self._supervise(tasks)
                await wait_at_most(refresh, self.settings.fanout_poll_seconds)
        finally:
            forget()
            for _, task in tasks.values():
                task.cancel()
            for _, task in tasks.values():
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _supervise(self, tasks: dict[UUID, tuple[datetime, asyncio.Task]]) -> None:
        wanted = await subs.active_versions(self.pool)
        for sub_id, (updated_at, task) in list(tasks.items()):
            if task.done() and not task.cancelled() and task.exception() is not None:
                log.error(
                    "webhook.task_failed", subscription=str(sub_id), error=repr(task.exception())
                )
            if task.done() or wanted.get(sub_id) != updated_at:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
                del tasks[sub_id]
        for sub_id, updated_at in wanted.items():
            if sub_id not in tasks:
                task = asyncio.create_task(self._follow(sub_id), name=f"webhook-{sub_id}")
                tasks[sub_id] = (updated_at, task)

    async def _follow(self, sub_id: UUID) -> None:
        client = DeliveryClient(self.settings.webhook_timeout_seconds, user_agent=USER_AGENT)
        try:
            await self._follow_with(client, sub_id)
        finally:
            await client.aclose()

    async def _follow_with(self, client: DeliveryClient, sub_id: UUID) -> None:
        while True:
            sub = await subs.get(self.pool, sub_id)
            if sub is None or sub.status != "active":
                return
            if sub.next_attempt_at is not None:
                wait = (sub.next_attempt_at - datetime.now(UTC)).total_seconds()
                if wait > 0:
                    await asyncio.sleep(wait)
            try:
                await self._deliver_from_checkpoint(client, sub)
                continue  # the checkpoint moved under us (paused, or another leader): reload
            except DeliveryFailedError as exc:
                error = str(exc)
            # The failed event sits at the current checkpoint (earlier ones in
            # this run may have been delivered): note the failure there.
            current = await subs.get(self.pool, sub_id)
            if current is None or current.status != "active":
                return
            delay = backoff_delay(
                current.attempts + 1,
                self.settings.webhook_backoff_base_seconds,
                self.settings.webhook_backoff_max_seconds,
            )
            attempts = await subs.record_failure(
                self.pool, sub_id, current.checkpoint, error, delay
            )
            log.warning(
                "webhook.retrying",
                subscription=str(sub_id),
                attempts=attempts,
                retry_in=round(delay, 3),
                error=error,
            )

    async def _deliver_from_checkpoint(
        self, client: DeliveryClient, sub: subs.Subscription
    ) -> None:
        """Deliver from the checkpoint until the checkpoint moves under us (then return).

        The checkpoint is written at most every ``FLUSH_SECONDS`` while events
        keep coming, and as soon as the feed is drained or a delivery fails:
        at 500 events/s one write per event would cost more than the POSTs.
        A crash repeats at most that much (delivery is at least once anyway).
        """
        try:
            secret = signing.open_secret(self.settings.master_key_bytes, sub.id, sub.sealed_secret)
        except InvalidTag as exc:
            DELIVERIES.labels(self.service, "unsealable").inc()
            raise DeliveryFailedError(
                "the signing secret does not open: was MASTER_KEY changed?"
            ) from exc
        saved = delivered = sub.checkpoint
        count, flushed_at = 0, time.monotonic()

        async def flush(*, now: bool = False, leaving: bool = False) -> None:
            nonlocal saved, count, flushed_at
            if delivered == saved or (not now and time.monotonic() - flushed_at < FLUSH_SECONDS):
                return
            moved = await subs.advance(
                self.pool, sub.id, saved, delivered, count, even_if_paused=leaving
            )
            if not moved:
                raise CheckpointMovedError(str(sub.id))
            saved, count, flushed_at = delivered, 0, time.monotonic()

        async def drained() -> None:
            await flush(now=time.monotonic() - flushed_at >= FLUSH_SECONDS / 2)

        try:
            async for batch in self.feed.follow(
                saved, limit=BATCH, types=sub.event_types, idle=drained
            ):
                for event in batch:
                    try:
                        await self._deliver(client, sub, secret, event)
                    except DeliveryFailedError:
                        await flush(now=True)
                        raise
                    delivered, count = event.cursor, count + 1
                    await flush()
        except CheckpointMovedError:
            return
        finally:  # paused, removed, stopping: keep what was delivered (best effort)
            with contextlib.suppress(Exception):
                await asyncio.shield(flush(now=True, leaving=True))

    async def _deliver(
        self, client: DeliveryClient, sub: subs.Subscription, secret: str, event: RecordedEvent
    ) -> None:
        body = cloudevents.encode(cloudevents.to_cloudevent(event, self.service))
        try:
            target = await self._target(sub.url)
        except TargetRefusedError as exc:
            DELIVERIES.labels(self.service, "refused").inc()
            raise DeliveryFailedError(f"receiver refused: {exc}") from exc
        headers = {
            "content-type": cloudevents.CONTENT_TYPE,
            **signing.headers(secret, str(event.event_id), body),
        }
        try:
            status = await client.post(target, body, headers)
        except HttpDeliveryError as exc:
            DELIVERIES.labels(self.service, "error").inc()
            self._targets.pop(sub.url, None)  # resolve afresh next time
            raise DeliveryFailedError(str(exc)) from exc
        if not 200 <= status < 300:
            DELIVERIES.labels(self.service, "rejected").inc()
            raise DeliveryFailedError(f"receiver answered HTTP {status}")
        DELIVERIES.labels(self.service, "ok").inc()

    async def _target(self, url: str) -> Target:
        cached = self._targets.get(url)
        now = time.monotonic()
        if cached is not None and now - cached[0] < TARGET_TTL:
            return cached[1]
        target = await resolve_target(url, self.allow_hosts)
        self._targets[url] = (now, target)
        return target
