"""Shared HTTP conventions, exercised through a small example service."""

from __future__ import annotations

import uuid

import pytest

from shared.http.service import create_service_app
from tests.support.counter import counter_spec
from tests.support.http import auth, make_settings, serve


@pytest.fixture
async def client(db_url, schema):
    app = create_service_app(counter_spec(schema), make_settings(db_url))
    async with serve(app) as c:
        yield c


def new_id() -> str:
    return f"c-{uuid.uuid4().hex[:8]}"


async def test_health_ready_metrics_docs(client) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["database"] == "ok"
    assert "dealtrail_http_request_seconds" in (await client.get("/metrics")).text
    assert (await client.get("/openapi.json")).status_code == 200
    assert (await client.get("/docs")).status_code == 200


async def test_request_id_is_echoed_or_generated(client) -> None:
    given = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    generated = await client.get("/healthz")
    assert uuid.UUID(generated.headers["x-request-id"])


async def test_writes_need_a_token_and_auditors_cannot_write(client) -> None:
    cid = new_id()
    anonymous = await client.post(f"/counters/{cid}")
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    assert anonymous.json()["type"].endswith("/unauthorized")
    forged = await client.post(f"/counters/{cid}", headers={"Authorization": "Bearer nope"})
    assert forged.status_code == 401
    auditor = await client.post(f"/counters/{cid}", headers=auth("auditor", "a1"))
    assert auditor.status_code == 403 and auditor.json()["type"].endswith("/forbidden")
    assert auditor.json()["detail"] == "Auditors have read-only access."


async def test_only_a_bearer_token_counts_and_openapi_shows_the_scheme(client) -> None:
    cid = new_id()
    token = auth()["Authorization"].removeprefix("Bearer ")
    for header in (f"Basic {token}", token, "Bearer ", "Bearer"):
        refused = await client.post(f"/counters/{cid}", headers={"Authorization": header})
        assert refused.status_code == 401, header
        assert refused.headers["www-authenticate"] == 'Bearer realm="dealtrail"'
        assert refused.json()["detail"] == "Send 'Authorization: Bearer <token>'."
    lower = await client.post(f"/counters/{cid}", headers={"Authorization": f"bearer {token}"})
    assert lower.status_code == 201  # the scheme is case-insensitive (RFC 9110)

    spec = (await client.get("/openapi.json")).json()
    schemes = spec["components"]["securitySchemes"]
    assert list(schemes) == ["HTTPBearer"]
    assert (schemes["HTTPBearer"]["type"], schemes["HTTPBearer"]["scheme"]) == ("http", "bearer")
    assert spec["paths"]["/counters/{counter_id}"]["post"]["security"] == [{"HTTPBearer": []}]
    assert "security" not in spec["paths"]["/healthz"]["get"]


async def test_etag_and_if_match(client) -> None:
    cid = new_id()
    created = await client.post(f"/counters/{cid}", headers=auth())
    assert created.status_code == 201 and created.headers["etag"] == '"1"'

    missing = await client.post(f"/counters/{cid}/add", json={"n": 2}, headers=auth())
    assert missing.status_code == 428

    ok = await client.post(
        f"/counters/{cid}/add", json={"n": 2}, headers={**auth(), "If-Match": '"1"'}
    )
    assert ok.status_code == 200 and ok.headers["etag"] == '"2"' and ok.json()["total"] == 2

    stale = await client.post(
        f"/counters/{cid}/add", json={"n": 2}, headers={**auth(), "If-Match": '"1"'}
    )
    assert stale.status_code == 412
    assert stale.json()["current_version"] == 2
    read = await client.get(f"/counters/{cid}", headers=auth("auditor", "a1"))
    assert read.headers["etag"] == '"2"' and read.json()["total"] == 2


async def test_idempotent_retry_returns_first_response_and_appends_nothing(client) -> None:
    cid = new_id()
    await client.post(f"/counters/{cid}", headers=auth())
    headers = {**auth(), "If-Match": '"1"', "Idempotency-Key": "retry-1"}

    first = await client.post(f"/counters/{cid}/add", json={"n": 5}, headers=headers)
    again = await client.post(f"/counters/{cid}/add", json={"n": 5}, headers=headers)

    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["etag"] == first.headers["etag"] == '"2"'
    assert again.headers["idempotent-replayed"] == "true"
    feed = await client.get("/events", params={"stream": cid}, headers=auth())
    assert [e["type"] for e in feed.json()["items"]] == ["Opened", "Added"]

    other_body = await client.post(f"/counters/{cid}/add", json={"n": 6}, headers=headers)
    assert other_body.status_code == 422
    assert other_body.json()["type"].endswith("/idempotency-key-reused")


async def test_validation_and_domain_errors_are_problems(client) -> None:
    cid = new_id()
    await client.post(f"/counters/{cid}", headers=auth())
    bad = await client.post(
        f"/counters/{cid}/add", json={"n": "many"}, headers={**auth(), "If-Match": '"1"'}
    )
    assert bad.status_code == 422
    body = bad.json()
    assert body["type"].endswith("/validation-error") and body["errors"][0]["location"][-1] == "n"

    not_json = await client.post(
        f"/counters/{cid}/add",
        content=b"{not json",
        headers={**auth(), "If-Match": '"1"', "Content-Type": "application/json"},
    )
    assert not_json.status_code == 422

    await client.post(f"/counters/{cid}/close", headers={**auth(), "If-Match": '"1"'})
    closed = await client.post(
        f"/counters/{cid}/add", json={"n": 1}, headers={**auth(), "If-Match": '"2"'}
    )
    assert closed.status_code == 409 and closed.json()["type"].endswith("/counter-closed")

    nowhere = await client.get("/nowhere", headers=auth())
    assert nowhere.status_code == 404
    assert nowhere.headers["content-type"] == "application/problem+json"
    twice = await client.post(f"/counters/{cid}", headers=auth())
    assert twice.status_code == 409


async def test_feed_pages_with_next_links_and_rejects_bad_cursors(client) -> None:
    for _ in range(3):
        await client.post(f"/counters/{new_id()}", headers=auth())
    first = (await client.get("/events", params={"limit": 2}, headers=auth())).json()
    assert len(first["items"]) == 2
    second = (await client.get(first["next"], headers=auth())).json()
    assert len(second["items"]) == 1
    assert first["items"][0]["position"] < second["items"][0]["position"]
    empty = (await client.get(second["next"], headers=auth())).json()
    assert empty["items"] == [] and empty["next_cursor"] == second["next_cursor"]

    bad = await client.get("/events", params={"after": "garbage!"}, headers=auth())
    assert bad.status_code == 400 and bad.json()["type"].endswith("/invalid-cursor")
    too_many = await client.get("/events", params={"limit": 5000}, headers=auth())
    assert too_many.status_code == 422
