"""Auditors: chain verification over HTTP, NDJSON exports checked offline, the read log."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from structlog.testing import capture_logs
from typer.testing import CliRunner

from shared.cli import app as cli
from shared.db import create_pool
from shared.eventstore import EventStore, NewEvent
from shared.http.service import create_service_app
from tests.support.counter import counter_spec
from tests.support.http import auth, make_settings, serve

AUDITOR = auth("auditor", "aud-7")
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
async def client(db_url, schema):
    app = create_service_app(counter_spec(schema), make_settings(db_url))
    async with serve(app) as c:
        yield c


async def seed(pool, streams: int = 3, per_stream: int = 4) -> list[str]:
    """Events one hour apart per version, so time ranges cut streams in the middle."""
    ids = []
    for s in range(streams):
        stream = f"deal-{s}-{uuid.uuid4().hex[:6]}"
        for v in range(per_stream):
            store = EventStore(pool, clock=lambda v=v: T0 + timedelta(hours=v))
            await store.append(
                stream, "deal", v, [NewEvent("Noted", {"n": v, "text": "ü €"})], {"actor": "u1"}
            )
        ids.append(stream)
    return ids


async def tamper(pool, stream: str, version: int) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("alter table events disable trigger user")
        await conn.execute(
            "update events set data = '{\"n\": 99}' where stream_id = $1 and version = $2",
            stream,
            version,
        )
        await conn.execute("alter table events enable trigger user")


async def test_verify_needs_an_auditor_and_names_the_first_broken_link(client, pool) -> None:
    streams = await seed(pool)
    assert (await client.get("/audit/verify", headers=auth())).status_code == 403
    ok = await client.get("/audit/verify", headers=AUDITOR)
    assert ok.json() == {"ok": True, "streams_checked": 3, "events_checked": 12}
    one = await client.get("/audit/verify", params={"stream": streams[1]}, headers=AUDITOR)
    assert one.json()["streams_checked"] == 1
    missing = await client.get("/audit/verify", params={"stream": "nope"}, headers=AUDITOR)
    assert missing.status_code == 404 and missing.json()["type"].endswith("/stream-not-found")

    await tamper(pool, streams[2], 3)
    broken = (await client.get("/audit/verify", headers=auth("admin", "root"))).json()
    assert broken["ok"] is False
    assert broken["first_broken_link"]["stream_id"] == streams[2]
    assert broken["first_broken_link"]["version"] == 3


def verify_file(path) -> tuple[int, dict]:
    result = CliRunner().invoke(cli, ["audit", "verify", str(path)])
    return result.exit_code, json.loads(result.output)


async def test_export_verifies_offline_and_tampering_is_detected(client, pool, tmp_path) -> None:
    streams = await seed(pool)
    response = await client.get("/audit/export", headers=AUDITOR)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = response.text.splitlines()
    header, *events, trailer = (json.loads(line) for line in lines)
    assert header["kind"] == "header" and trailer == {
        "kind": "trailer",
        "events": 12,
        "streams": 3,
        "digest": trailer["digest"],
    }
    assert {e["stream_id"] for e in events} == set(streams)
    assert events[0]["metadata"] == {"actor": "u1"} and len(events[0]["hash"]) == 64

    export = tmp_path / "export.ndjson"
    await asyncio.to_thread(export.write_text, response.text)
    assert verify_file(export) == (0, {"ok": True, "streams_checked": 3, "events_checked": 12})

    changed = list(lines)
    changed[6] = changed[6].replace('"n":1', '"n":7')
    assert changed[6] != lines[6]
    await asyncio.to_thread(export.write_text, "\n".join(changed))
    code, report = verify_file(export)
    assert code == 1 and report["first_problem"]["line"] == 7
    assert report["first_problem"]["reason"] == "hash does not match content"
    assert report["first_problem"]["event_id"] == events[5]["id"]

    await asyncio.to_thread(export.write_text, "\n".join(lines[:3] + lines[4:]))  # one removed
    code, report = verify_file(export)
    assert code == 1 and "missing" in report["first_problem"]["reason"]
    last_of_stream = [i for i, e in enumerate(events, 1) if e["version"] == 4][-1]
    await asyncio.to_thread(
        export.write_text, "\n".join(lines[:last_of_stream] + lines[last_of_stream + 1 :])
    )
    code, report = verify_file(export)
    assert code == 1 and "trailer" in report["first_problem"]["reason"]
    await asyncio.to_thread(export.write_text, "\n".join(lines[:-1]))
    assert verify_file(export)[1]["first_problem"]["reason"].startswith("the export is truncated")


async def test_a_time_range_export_is_anchored_mid_stream(client, pool, tmp_path) -> None:
    await seed(pool, streams=2)
    params = {"from": (T0 + timedelta(hours=1)).isoformat(), "to": "2026-03-01T12:00:00Z"}
    response = await client.get("/audit/export", params=params, headers=AUDITOR)
    events = [json.loads(line) for line in response.text.splitlines()[1:-1]]
    assert sorted({e["version"] for e in events}) == [2, 3]
    assert all(e["prev_hash"] for e in events)
    export = tmp_path / "range.ndjson"
    await asyncio.to_thread(export.write_text, response.text)
    assert verify_file(export)[0] == 0

    backwards = await client.get(
        "/audit/export",
        params={"from": "2026-03-02T00:00:00Z", "to": "2026-03-01T00:00:00Z"},
        headers=AUDITOR,
    )
    assert backwards.status_code == 422
    assert backwards.headers["content-type"] == "application/problem+json"
    garbage = await client.get("/audit/export", params={"from": "yesterday"}, headers=AUDITOR)
    assert garbage.status_code == 422


async def test_every_auditor_read_is_logged_with_the_auditor_id(client, pool) -> None:
    await seed(pool, streams=1)
    with capture_logs() as logs:
        await client.get("/events", params={"limit": 2}, headers=AUDITOR)
        await client.get("/audit/verify", headers=AUDITOR)
        await client.get("/events", headers=auth())  # a rep's read is not an audit read
    reads = [entry for entry in logs if entry["event"] == "audit.read"]
    assert [(r["auditor"], r["path"], r["status"]) for r in reads] == [
        ("aud-7", "/events", 200),
        ("aud-7", "/audit/verify", 200),
    ]
    assert reads[0]["query"] == "limit=2"
    verified = [entry for entry in logs if entry["event"] == "audit.verify"]
    assert verified and verified[0]["auditor"] == "aud-7"


async def test_cli_export_from_the_database_verifies(migrated_db, tmp_path) -> None:
    pool = await create_pool(migrated_db, "deals", min_size=1, max_size=2)
    try:
        await seed(pool, streams=2, per_stream=2)
    finally:
        await pool.close()
    export = tmp_path / "deals.ndjson"
    env = {"DATABASE_URL": migrated_db, "JWT_SECRET": "cli-secret-" + "z" * 30}
    result = await asyncio.to_thread(
        CliRunner().invoke, cli, ["audit", "export", "-s", "deals", "-o", str(export)], env=env
    )
    assert result.exit_code == 0, result.output
    assert verify_file(export) == (0, {"ok": True, "streams_checked": 2, "events_checked": 4})
    bad = await asyncio.to_thread(
        CliRunner().invoke, cli, ["audit", "export", "--from", "soon"], env=env
    )
    assert bad.exit_code == 2
