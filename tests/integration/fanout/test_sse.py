"""GET /events/stream: Server-Sent Events over a real socket, resumable with Last-Event-ID."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
from structlog.testing import capture_logs

from shared.http.service import create_service_app
from tests.integration.fanout.conftest import feed, open_counters, sse
from tests.support.counter import counter_spec
from tests.support.http import auth, make_settings
from tests.support.live import LiveServer


@pytest.fixture
async def live(db_url, schema):
    # The fallback poll is slow on purpose: prompt delivery must come from NOTIFY.
    settings = make_settings(db_url, fanout_poll_seconds=5.0, sse_heartbeat_seconds=0.3)
    server = LiveServer(lambda: create_service_app(counter_spec(schema), settings))
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=server.url) as client:
            yield server, client
    finally:
        await server.stop()


async def next_event(messages, timeout: float = 5.0):
    """The next message that carries an event (heartbeats skipped)."""
    async with asyncio.timeout(timeout):
        async for message in messages:
            if message.data is not None:
                return message
    raise AssertionError("stream ended")


async def test_reconnecting_with_last_event_id_resumes_exactly_after_it(live) -> None:
    server, client = live
    await open_counters(client, 5)
    async with sse(server.url, headers=auth("auditor", "a-1")) as (_, messages):
        first = [await next_event(messages) for _ in range(3)]
    # The client went away after three events; more happen meanwhile.
    await open_counters(client, 2)
    resume = {**auth("auditor", "a-1"), "Last-Event-ID": first[-1].id}
    async with sse(server.url, headers=resume) as (_, messages):
        rest = [await next_event(messages) for _ in range(4)]
        with pytest.raises(TimeoutError):
            await next_event(messages, timeout=0.4)  # nothing repeated, nothing extra

    items = await feed(client)
    assert [m.id for m in first + rest] == [e["cursor"] for e in items]
    assert [json.loads(m.data) for m in first + rest] == items


async def test_new_events_arrive_within_milliseconds(live) -> None:
    server, client = live
    async with sse(server.url, headers=auth()) as (response, messages):
        assert response.headers["content-type"].startswith("text/event-stream")
        lags = []
        for _ in range(3):
            # Idle long enough for the stream to be back to waiting for a wake-up.
            await asyncio.sleep(0.35)
            started = time.perf_counter()
            [cid] = await open_counters(client, 1)
            message = await next_event(messages)
            lags.append(time.perf_counter() - started)
            assert json.loads(message.data)["stream_id"] == cid
    # The fallback poll is 5 s: only the LISTEN/NOTIFY wake-up can be this quick.
    assert max(lags) < 0.5, lags


async def test_type_filter_heartbeats_and_after_cursor(live) -> None:
    server, client = live
    [cid] = await open_counters(client, 1)
    added = await client.post(
        f"/counters/{cid}/add", json={"n": 3}, headers={**auth(), "If-Match": '"1"'}
    )
    assert added.status_code == 200
    async with sse(server.url, params={"type": "Added"}, headers=auth()) as (_, messages):
        heartbeat_seen = False
        async with asyncio.timeout(3):
            async for message in messages:
                if message.data is not None:
                    assert json.loads(message.data)["type"] == "Added"
                elif message.comment and message.comment.startswith("ping"):
                    heartbeat_seen = True
                    break
        assert heartbeat_seen

    items = await feed(client)
    async with sse(server.url, params={"after": items[0]["cursor"]}, headers=auth()) as (
        _,
        messages,
    ):
        assert json.loads((await next_event(messages)).data)["id"] == items[1]["id"]


async def test_bad_cursor_is_a_problem_and_a_token_is_required(live) -> None:
    _, client = live
    bad = await client.get("/events/stream", headers={**auth(), "Last-Event-ID": "not-a-cursor!"})
    assert bad.status_code == 400
    assert bad.headers["content-type"] == "application/problem+json"
    assert bad.json()["type"].endswith("/invalid-cursor")
    anonymous = await client.get("/events/stream")
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    forged = await client.get("/events/stream", params={"access_token": "forged"})
    assert forged.status_code == 401


async def test_a_browser_eventsource_authenticates_in_the_url_and_the_token_is_not_logged(
    live,
) -> None:
    server, client = live
    await open_counters(client, 2)
    items = await feed(client)
    token = auth("auditor", "aud-9")["Authorization"].removeprefix("Bearer ")
    with capture_logs() as logs:
        async with sse(
            server.url,
            params={"access_token": token},
            headers={"Last-Event-ID": items[0]["cursor"]},  # what EventSource sends back
        ) as (_, messages):
            assert json.loads((await next_event(messages)).data)["id"] == items[1]["id"]
    [read] = [entry for entry in logs if entry["event"] == "audit.read"]
    assert read["auditor"] == "aud-9" and read["path"] == "/events/stream"
    assert read["query"] == "access_token=***" and token not in json.dumps(logs)
