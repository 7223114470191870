"""Commands on a deal the app has just folded: decided without a read, never wrongly.

The app keeps recent deal states. A command whose ``If-Match`` names the version it
holds is decided on that state and appended at once; when the stream has moved on
(another replica) the append fails, and the command runs again on what the store
says — replaying a stored response, or answering 412, as if it had read first.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from services.deals.app import service_spec
from shared.eventstore import EventStore
from shared.http.service import create_service_app
from tests.support.http import make_settings, serve

from .support import REP, add_account, as_user
from .test_deal_commands import problem


def counting_reads(store: EventStore) -> list[str]:
    """The streams ``store`` reads for commands from now on."""
    streams: list[str] = []
    read = store.read_for_command

    async def counted(stream_id: str, **kwargs: Any):
        streams.append(stream_id)
        return await read(stream_id, **kwargs)

    store.read_for_command = counted  # type: ignore[method-assign]
    return streams


async def test_a_command_on_the_state_held_reads_nothing_and_a_stale_one_reads_once(
    deals_db, db
) -> None:
    app = create_service_app(service_spec(follow_accounts=False), make_settings(deals_db))
    async with serve(app) as http:
        reads = counting_reads(app.state.runtime.store)
        rep = as_user(http, REP)
        deal = await rep.opened(await add_account(db))
        path = f"/deals/{deal['id']}"
        moved = await rep.command("PATCH", path, 1, {"title": "Second"})
        assert moved.status_code == 200 and moved.json()["version"] == 2
        assert reads == []
        problem(await rep.command("PATCH", path, 1, {"title": "Stale"}), 412, "stale-version")
        assert reads == [deal["id"]]


async def test_a_retry_on_a_replica_holding_an_older_state_replays_the_first_answer(
    deals_db, db, client
) -> None:
    """The first attempt ran on another replica; this one still holds version 1."""
    rep = as_user(client, REP)
    deal = await rep.opened(await add_account(db))
    path = f"/deals/{deal['id']}/competitors"
    key = {"Idempotency-Key": f"k-{uuid.uuid4()}"}
    other = create_service_app(service_spec(follow_accounts=False), make_settings(deals_db))
    async with serve(other) as elsewhere:
        first = await as_user(elsewhere, REP, rep.sub).command(
            "POST", path, 1, {"name": "SAP"}, **key
        )
    assert first.status_code == 200
    again = await rep.command("POST", path, 1, {"name": "SAP"}, **key)
    assert (again.status_code, again.headers["Idempotent-Replayed"]) == (200, "true")
    assert again.json() == first.json() and again.headers["ETag"] == '"2"'
    refused = await rep.command("POST", path, 1, {"name": "Oracle"}, **key)
    problem(refused, 422, "idempotency-key-reused")
    history = (await rep.get(f"/deals/{deal['id']}/history")).json()["items"]
    assert [e["type"] for e in history] == ["DealOpened", "CompetitorAdded"]


async def test_a_reused_key_is_a_422_even_when_the_state_held_refuses_the_command(
    client, db
) -> None:
    rep = as_user(client, REP)
    deal = await rep.opened(await add_account(db))
    path = f"/deals/{deal['id']}"
    key = {"Idempotency-Key": f"k-{uuid.uuid4()}"}
    assert (await rep.command("PATCH", path, 1, {"title": "New"}, **key)).status_code == 200
    # Version 2 is the state held; on it this stage move is refused (a gate unmet),
    # but the key already answered another request.
    refused = await rep.command("POST", path + "/stage", 2, {"to": "initiation"}, **key)
    problem(refused, 422, "idempotency-key-reused")
    problem(
        await rep.command("POST", path + "/stage", 2, {"to": "initiation"}), 409, "stage-gate-unmet"
    )


async def test_replies_and_their_replays_are_compact_utf8_json(client, db) -> None:
    rep = as_user(client, REP)
    key = {"Idempotency-Key": f"k-{uuid.uuid4()}"}
    title = '大客户 ERP "二期" \\ 2026'
    body = {"account_id": str(await add_account(db)), "title": title,
            "amount": "1000000.00", "currency": "CNY"}  # fmt: skip
    first = await client.post("/deals", json=body, headers=rep.headers(**key))
    again = await client.post("/deals", json=body, headers=rep.headers(**key))
    assert first.status_code == again.status_code == 201
    for reply in (first, again):  # a replay's keys come back in jsonb's order
        compact = json.dumps(reply.json(), ensure_ascii=False, separators=(",", ":"))
        assert reply.content == compact.encode()
    assert again.json() == first.json() and first.json()["title"] == title
