"""NATS JetStream publisher against a real nats-server: CloudEvents, order, de-duplication."""

from __future__ import annotations

import json

import nats
import pytest

from shared.fanout.jetstream import CHECKPOINT, STREAM
from shared.http.service import create_service_app
from tests.integration.fanout.conftest import feed, open_counters, until
from tests.support.counter import counter_spec
from tests.support.http import make_settings, serve


@pytest.fixture
async def jetstream(nats_server):
    nc = await nats.connect(nats_server.url)
    try:
        yield nc.jetstream()
    finally:
        await nc.close()


async def stream_count(js) -> int:
    try:
        return (await js.stream_info(STREAM)).state.messages
    except nats.js.errors.NotFoundError:
        return 0


def app_for(db_url, schema, nats_server):
    settings = make_settings(db_url, nats_url=nats_server.url, fanout_poll_seconds=0.5)
    return create_service_app(counter_spec(schema), settings)


async def test_events_are_published_once_even_after_a_forced_republish(
    db_url, schema, pool, nats_server, jetstream
) -> None:
    app = app_for(db_url, schema, nats_server)
    async with serve(app) as client:
        await open_counters(client, 6)
        events = await feed(client)
        await until(lambda: stream_count(jetstream), what="stream created")
        await until(lambda: _equals(stream_count(jetstream), 6), what="6 messages")

    consumer = await jetstream.pull_subscribe("dealtrail.counter.>", durable="check")
    messages = await consumer.fetch(6, timeout=5)
    for message in messages:
        await message.ack()
    envelopes = [json.loads(m.data) for m in messages]
    assert [e["id"] for e in envelopes] == [e["id"] for e in events]  # feed order
    assert [m.headers["Nats-Msg-Id"] for m in messages] == [e["id"] for e in events]
    assert {m.subject for m in messages} == {"dealtrail.counter.Opened"}
    assert envelopes[0]["specversion"] == "1.0"
    assert envelopes[0]["type"] == "dealtrail.counter.Opened"
    assert envelopes[0]["data"] == events[0]["data"]

    # Force a re-publish of everything: rewind the publisher's checkpoint.
    await pool.execute(
        "update checkpoints set tx_id = '0', position = 0 where name = $1", CHECKPOINT
    )
    again = app_for(db_url, schema, nats_server)
    async with serve(again) as client:
        publisher = again.state.runtime.extras["fanout"].nats
        await until(lambda: publisher.duplicates == 6, what="re-publish acknowledged")
        assert publisher.stored == 0
        assert await stream_count(jetstream) == 6  # JetStream dropped every repeat
        [cid] = await open_counters(client, 1)
        await until(lambda: _equals(stream_count(jetstream), 7), what="the new event")
    fresh = await consumer.fetch(5, timeout=1)
    assert [json.loads(m.data)["subject"] for m in fresh] == [cid]


async def _equals(value, expected) -> bool:
    return await value == expected
