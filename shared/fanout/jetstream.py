"""NATS JetStream publisher: the feed into stream ``DEALTRAIL``, checkpointed like a projection.

On when ``NATS_URL`` is set; runs in one replica at a time (advisory lock).
Each event goes to subject ``dealtrail.<service>.<event_type>`` as a
CloudEvents JSON message whose ``Nats-Msg-Id`` is the event id. The
checkpoint moves only after JetStream acknowledged a whole batch, so a crash
re-publishes at most that batch, and JetStream's duplicate window drops the
repeats: consumers see every event once, in feed order.
"""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
import nats
import nats.errors
import nats.js.errors
import structlog
from nats.js.api import StreamConfig
from prometheus_client import Counter

from shared.eventstore.store import EventStore
from shared.eventstore.types import Cursor, RecordedEvent
from shared.fanout import cloudevents
from shared.fanout.localfeed import LocalFeed

log = structlog.get_logger(__name__)

STREAM = "DEALTRAIL"
SUBJECTS = "dealtrail.>"
CHECKPOINT = "fanout:nats"
BATCH = 500
ACK_TIMEOUT = 10.0
STREAM_NAME_IN_USE = 10058

PUBLISHED = Counter(
    "dealtrail_nats_published_total", "Events published to JetStream", ["service", "outcome"]
)

_ENSURE = "insert into checkpoints (name) values ($1) on conflict do nothing"
_READ = "select tx_id, position from checkpoints where name = $1"
_SAVE = """
update checkpoints set tx_id = $4::xid8, position = $5, updated_at = now()
where name = $1 and tx_id = $2::xid8 and position = $3
"""


class CheckpointMovedError(RuntimeError):
    """Someone else moved the publisher's checkpoint: start again from it."""


def subject_for(service: str, event: RecordedEvent) -> str:
    """``dealtrail.<service>.<event_type>``, each part a valid subject token."""
    return f"dealtrail.{cloudevents.subject_token(service)}.{cloudevents.subject_token(event.type)}"


async def read_checkpoint(pool: asyncpg.Pool) -> Cursor:
    """Where the publisher resumes (the beginning if it never ran)."""
    await pool.execute(_ENSURE, CHECKPOINT)
    row = await pool.fetchrow(_READ, CHECKPOINT)
    return Cursor(row["tx_id"], row["position"])


class JetStreamPublisher:
    """Publishes the feed to JetStream; run it under a :class:`Leadership`."""

    def __init__(self, store: EventStore, feed: LocalFeed, settings, service: str) -> None:
        self.store = store
        self.feed = feed
        self.settings = settings
        self.service = service
        self.stored = 0
        self.duplicates = 0

    async def run(self) -> None:
        """Connect (retrying), make sure the stream exists, then follow the feed forever."""
        backoff = 0.2
        while True:
            try:
                nc = await nats.connect(
                    servers=[u.strip() for u in self.settings.nats_url.split(",") if u.strip()],
                    name=f"dealtrail-{self.service}",
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.5,
                    connect_timeout=5,
                    allow_reconnect=True,
                )
                break
            except (OSError, nats.errors.Error, TimeoutError) as exc:
                log.warning("nats.connect_failed", error=repr(exc), retry_in=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
        try:
            js = nc.jetstream(timeout=ACK_TIMEOUT)
            await self._ensure_stream(js)
            await self._publish_forever(js)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(nc.close())

    async def _ensure_stream(self, js) -> None:
        config = StreamConfig(
            name=STREAM,
            subjects=[SUBJECTS],
            duplicate_window=self.settings.nats_duplicate_window_seconds,
        )
        try:
            await js.add_stream(config)
        except nats.js.errors.BadRequestError as exc:
            if exc.err_code != STREAM_NAME_IN_USE:
                raise
            log.info("nats.stream_exists", stream=STREAM, note="kept its configuration")

    async def _publish_forever(self, js) -> None:
        pool = self.store.pool
        checkpoint = await read_checkpoint(pool)
        async for batch in self.feed.follow(checkpoint, limit=BATCH):
            await self._publish_batch(js, batch)
            last = batch[-1].cursor
            saved = await pool.execute(
                _SAVE, CHECKPOINT, checkpoint.tx_id, checkpoint.position, last.tx_id, last.position
            )
            if not saved.endswith(" 1"):
                raise CheckpointMovedError(CHECKPOINT)
            checkpoint = last

    async def _publish_batch(self, js, batch: list[RecordedEvent]) -> None:
        """Publish until JetStream acknowledged every event of the batch (repeats are dropped)."""
        backoff = 0.2
        while True:
            futures: list[asyncio.Future] = []
            try:
                for event in batch:
                    futures.append(
                        await js.publish_async(
                            subject_for(self.service, event),
                            cloudevents.encode(cloudevents.to_cloudevent(event, self.service)),
                            headers={
                                "Nats-Msg-Id": str(event.event_id),
                                "Content-Type": cloudevents.CONTENT_TYPE,
                            },
                        )
                    )
                async with asyncio.timeout(ACK_TIMEOUT):
                    acks = await asyncio.gather(*futures)
            except (nats.errors.Error, TimeoutError, OSError) as exc:
                for future in futures:
                    future.cancel()
                log.warning("nats.publish_failed", error=repr(exc), retry_in=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            repeats = sum(1 for ack in acks if ack.duplicate)
            self.duplicates += repeats
            self.stored += len(acks) - repeats
            PUBLISHED.labels(self.service, "stored").inc(len(acks) - repeats)
            PUBLISHED.labels(self.service, "duplicate").inc(repeats)
            return
