"""Webhook subscriptions: management, signed CloudEvents in order, outages, pause, one leader."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json

import pytest

from shared.http.service import create_service_app
from tests.integration.fanout.conftest import feed, open_counters, until
from tests.support.counter import counter_spec
from tests.support.http import auth, make_settings, serve

SERVICE = auth("service", "svc-crm")


def settings(db_url, **overrides):
    values = {
        "webhook_allow_hosts": "127.0.0.1",
        "webhook_backoff_base_seconds": 0.05,
        "webhook_backoff_max_seconds": 0.4,
        "fanout_poll_seconds": 0.5,
    }
    return make_settings(db_url, **{**values, **overrides})


@pytest.fixture
async def client(db_url, fanout_schema):
    app = create_service_app(counter_spec(fanout_schema), settings(db_url))
    async with serve(app) as c:
        c.app = app
        yield c


def signed_correctly(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """An independent Standard Webhooks check, as a receiver would write it."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    offered = [s.split(",", 1)[1] for s in headers["webhook-signature"].split()]
    return expected in offered


async def subscribe(client, url: str, **fields) -> dict:
    response = await client.post("/subscriptions", json={"url": url, **fields}, headers=SERVICE)
    assert response.status_code == 201, response.text
    return response.json()


async def test_only_admins_and_services_manage_and_bad_receivers_are_refused(
    client, receiver
) -> None:
    rep = await client.post("/subscriptions", json={"url": receiver.url}, headers=auth())
    assert rep.status_code == 403
    for url in (
        "ftp://example.com/hook",
        "http://10.1.2.3/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]:9/hook",
        "http://localhost:9/hook",
        "not a url",
    ):
        refused = await client.post("/subscriptions", json={"url": url}, headers=SERVICE)
        assert refused.status_code == 422, url
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["type"].endswith("/webhook-target-refused"), url
    invalid = await client.post(
        "/subscriptions", json={"url": receiver.url, "event_types": [], "x": 1}, headers=SERVICE
    )
    assert invalid.status_code == 422 and invalid.json()["type"].endswith("/validation-error")

    created = await client.post(
        "/subscriptions",
        json={"url": receiver.url, "description": "crm"},
        headers={**SERVICE, "Idempotency-Key": "sub-1"},
    )
    assert created.status_code == 201
    sub = created.json()
    assert sub["secret"].startswith("whsec_") and sub["status"] == "active"
    assert created.headers["location"] == f"/subscriptions/{sub['id']}"
    again = await client.post(
        "/subscriptions",
        json={"url": receiver.url, "description": "crm"},
        headers={**SERVICE, "Idempotency-Key": "sub-1"},
    )
    assert again.json()["id"] == sub["id"] and again.headers["idempotent-replayed"] == "true"
    reused = await client.post(
        "/subscriptions",
        json={"url": receiver.url, "description": "other"},
        headers={**SERVICE, "Idempotency-Key": "sub-1"},
    )
    assert reused.status_code == 422

    path = f"/subscriptions/{sub['id']}"
    shown = (await client.get(path, headers=SERVICE)).json()
    assert "secret" not in shown and shown["lag"] == 0 and shown["checkpoint"]
    assert (await client.get(path, headers=auth("service", "someone-else"))).status_code == 404
    assert (await client.get(path, headers=auth("admin", "root"))).status_code == 200
    listed = (await client.get("/subscriptions", headers=auth("admin", "root"))).json()
    assert [s["id"] for s in listed["items"]] == [sub["id"]]
    assert (await client.get("/subscriptions", headers=auth("service", "x"))).json()["items"] == []
    assert (await client.get("/subscriptions/not-a-uuid", headers=SERVICE)).status_code == 422

    paused = await client.patch(path, json={"status": "paused"}, headers=SERVICE)
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    bad = await client.patch(path, json={"status": "sleeping"}, headers=SERVICE)
    assert bad.status_code == 422
    inward = await client.patch(path, json={"url": "http://192.168.1.1/"}, headers=SERVICE)
    assert inward.status_code == 422
    assert (await client.delete(path, headers=SERVICE)).status_code == 204
    assert (await client.get(path, headers=SERVICE)).status_code == 404
    assert (await client.delete(path, headers=SERVICE)).status_code == 404


async def test_receiver_outage_loses_nothing_and_redelivers_in_order(client, receiver) -> None:
    sub = await subscribe(client, receiver.url)
    await open_counters(client, 3)
    await until(lambda: len(receiver.accepted) == 3, what="first deliveries")

    receiver.status = 503  # the receiver fails ...
    await open_counters(client, 3)
    await until(lambda: len(receiver.attempts) >= 8, what="retries")
    status = (await client.get(f"/subscriptions/{sub['id']}", headers=SERVICE)).json()
    assert status["retrying"] and status["last_error"] == "receiver answered HTTP 503"
    assert status["lag"] == 3 and status["delivered"] == 3
    await receiver.server.stop()  # ... then is gone altogether
    await open_counters(client, 2)
    await asyncio.sleep(0.6)
    status = (await client.get(f"/subscriptions/{sub['id']}", headers=SERVICE)).json()
    assert status["lag"] == 5 and "ConnectError" in status["last_error"]

    receiver.status = 204
    await receiver.server.start()  # back on the same port
    await until(lambda: len(receiver.accepted) == 8, what="redelivery")

    events = await feed(client)
    delivered = [json.loads(body) for _, body in receiver.accepted]
    assert [e["id"] for e in delivered] == [e["id"] for e in events]  # all, in order, once
    for (headers, body), event in zip(receiver.accepted, events, strict=True):
        assert signed_correctly(sub["secret"], headers, body)
        assert headers["webhook-id"] == event["id"]
        assert headers["content-type"] == "application/cloudevents+json"
    first = delivered[0]
    assert first["specversion"] == "1.0" and first["type"] == "dealtrail.counter.Opened"
    assert first["subject"] == events[0]["stream_id"] and first["cursor"] == events[0]["cursor"]
    assert first["data"] == events[0]["data"] and first["actor"] == "u-rep-1"

    # Retries back off: the gaps between failed attempts grow.
    failed = [t for t, h, _ in receiver.attempts if h["webhook-id"] == events[3]["id"]]
    gaps = [b - a for a, b in itertools.pairwise(failed)]
    assert len(gaps) >= 4 and gaps[3] > gaps[0] * 2, gaps

    async def caught_up() -> dict:
        return (await client.get(f"/subscriptions/{sub['id']}", headers=SERVICE)).json()

    # The checkpoint follows the deliveries within a few tens of milliseconds.
    await until(lambda: _lag_is_zero(caught_up()), what="checkpoint caught up")
    status = await caught_up()
    assert status["delivered"] == 8 and status["last_error"] is None
    assert status["checkpoint"] == events[-1]["cursor"]


async def test_pause_holds_deliveries_and_resume_catches_up(client, receiver) -> None:
    sub = await subscribe(client, receiver.url, event_types=["Added"])
    path = f"/subscriptions/{sub['id']}"
    [cid] = await open_counters(client, 1)  # Opened: filtered out
    await client.patch(path, json={"status": "paused"}, headers=SERVICE)
    await client.post(f"/counters/{cid}/add", json={"n": 1}, headers={**auth(), "If-Match": '"1"'})
    await asyncio.sleep(0.8)
    assert receiver.attempts == []
    assert (await client.get(path, headers=SERVICE)).json()["lag"] == 1
    await client.patch(path, json={"status": "active"}, headers=SERVICE)
    await until(lambda: len(receiver.accepted) == 1, what="delivery after resume")
    assert json.loads(receiver.accepted[0][1])["type"] == "dealtrail.counter.Added"


async def test_one_replica_delivers(db_url, fanout_schema, receiver) -> None:
    first = create_service_app(counter_spec(fanout_schema), settings(db_url))
    second = create_service_app(counter_spec(fanout_schema), settings(db_url))
    async with serve(first) as a, serve(second) as b:
        await subscribe(a, receiver.url)
        fanouts = [app.state.runtime.extras["fanout"] for app in (first, second)]
        await until(lambda: any(f.webhooks_leader.leading for f in fanouts), what="a leader")
        await open_counters(a, 3)
        await open_counters(b, 3)
        await until(lambda: len(receiver.accepted) == 6, what="deliveries")
        await asyncio.sleep(0.3)
        assert len(receiver.attempts) == 6  # each event once: only the leader delivers
        assert sum(f.webhooks_leader.leading for f in fanouts) == 1


async def _lag_is_zero(status) -> bool:
    return (await status)["lag"] == 0
