"""Opening and changing deals over HTTP: conventions, input checks, roles, concurrency."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest

from services.deals.api.schemas import DealPublic
from services.deals.domain import DealUpdated
from services.deals.repository import DEAL
from shared.aggregates import Repository
from shared.eventstore import EventStore

from .support import AUDITOR, MANAGER, REP, add_account, as_user, eventually, version_of

PROBLEM = "application/problem+json"


def problem(response, status: int, slug: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["type"] == f"https://dealtrail.dev/problems/{slug}", body
    return body


async def test_open_answers_201_with_location_etag_and_the_deal(client, db) -> None:
    rep = as_user(client, REP)
    account = await add_account(db)
    response = await rep.open(account, expected_close_date="2026-12-31", source="referral")
    assert response.status_code == 201, response.text
    deal = response.json()
    assert response.headers["Location"] == f"/deals/{deal['id']}"
    assert response.headers["ETag"] == '"1"'
    DealPublic.model_validate(deal)
    assert deal["owner_id"] == rep.sub
    assert deal["pipeline"] == "key-account"
    assert (deal["stage"], deal["status"], deal["version"]) == ("prospecting", "open", 1)
    assert (deal["amount"], deal["currency"]) == ("1000000.00", "CNY")
    assert (deal["probability"], deal["weighted_amount"]) == ("10", "100000.00")
    assert deal["opened_at"].endswith("Z")
    assert deal["initiation_report_missing"][0] == "project_name"


async def test_a_retried_open_replays_the_first_answer_and_appends_nothing(client, db) -> None:
    rep = as_user(client, REP)
    account = await add_account(db)
    key = {"Idempotency-Key": f"open-{uuid.uuid4()}"}
    body = {"account_id": str(account), "title": "T", "amount": "5.00", "currency": "EUR"}
    first = await client.post("/deals", json=body, headers=rep.headers(**key))
    again = await client.post("/deals", json=body, headers=rep.headers(**key))
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert again.headers["Location"] == first.headers["Location"]
    count = await db.fetchval(
        "select count(*) from events where data->>'account_id' = $1", str(account)
    )
    assert count == 1
    other = await client.post("/deals", json={**body, "title": "U"}, headers=rep.headers(**key))
    problem(other, 422, "idempotency-key-reused")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount", "12.345"),  # sub-cent
        ("amount", "1e6"),
        ("amount", "-5.00"),
        ("amount", 1250000.5),  # a float
        ("amount", 1250000),  # a JSON number at all
        ("currency", "ABC"),  # not ISO 4217
        ("currency", "cny"),
        ("title", "ERP\u0000"),  # NUL
        ("pipeline", "Key Account"),
        ("expected_close_date", "2026-02-30"),
        ("unexpected", "x"),
    ],
)
async def test_bad_input_is_a_422_problem(client, db, field, value) -> None:
    rep = as_user(client, REP)
    response = await rep.open(await add_account(db), **{field: value})
    body = problem(response, 422, "validation-error")
    assert body["errors"], body


async def test_unknown_or_archived_account_or_pipeline_is_a_422(client, db) -> None:
    rep = as_user(client, REP)
    problem(await rep.open(uuid.uuid4()), 422, "unknown-account")
    problem(await rep.open(await add_account(db, archived=True)), 422, "account-archived")
    body = problem(await rep.open(await add_account(db), pipeline="nope"), 422, "unknown-pipeline")
    assert body["pipeline"] == "nope"
    blank = problem(await rep.open(await add_account(db), title="   "), 422, "invalid-command")
    assert blank["field"] == "title"


async def test_roles_on_open(client, db) -> None:
    account = await add_account(db)
    problem(await as_user(client, AUDITOR).open(account), 403, "forbidden")
    problem(await as_user(client, REP).open(account, owner_id="someone-else"), 403, "not-allowed")
    manager = as_user(client, MANAGER)
    assert (await manager.opened(account, owner_id="rep-7"))["owner_id"] == "rep-7"
    anonymous = await client.post("/deals", json={})
    problem(anonymous, 401, "unauthorized")


async def test_update_needs_if_match_and_refuses_a_stale_one(client, db) -> None:
    rep = as_user(client, REP)
    deal = await rep.opened(await add_account(db))
    path = f"/deals/{deal['id']}"
    problem(await rep.command("PATCH", path, None, {"title": "New"}), 428, "precondition-required")
    changed = await rep.command(
        "PATCH", path, 1, {"title": "New", "next_step": "demo", "next_step_due": "2026-07-01"}
    )
    assert changed.status_code == 200, changed.text
    assert changed.headers["ETag"] == '"3"'  # DealUpdated + NextStepSet
    assert (changed.json()["title"], changed.json()["next_step"]) == ("New", "demo")
    stale = problem(await rep.command("PATCH", path, 1, {"title": "Newer"}), 412, "stale-version")
    assert stale["current_version"] == 3
    same = await rep.command("PATCH", path, 3, {"title": "New"})  # nothing changes
    assert same.status_code == 200 and same.headers["ETag"] == '"3"'
    problem(await rep.command("PATCH", path, 3, {"amount": 7}), 422, "validation-error")
    problem(await rep.command("PATCH", path, 3, {}), 422, "invalid-command")


async def test_reps_change_only_their_own_deals_managers_any_auditors_none(client, db) -> None:
    owner, other = as_user(client, REP), as_user(client, REP)
    deal = await owner.opened(await add_account(db))
    path = f"/deals/{deal['id']}"
    body = problem(await other.command("PATCH", path, 1, {"title": "Mine"}), 403, "not-allowed")
    assert "owner" in body["detail"]
    problem(
        await as_user(client, AUDITOR).command("PATCH", path, 1, {"title": "x"}), 403, "forbidden"
    )
    problem(await owner.command("PATCH", path, 1, {"owner_id": other.sub}), 403, "not-allowed")
    manager = as_user(client, MANAGER)
    moved = await manager.command("PATCH", path, 1, {"owner_id": other.sub})
    assert moved.status_code == 200 and moved.json()["owner_id"] == other.sub
    assert (await other.command("PATCH", path, 2, {"title": "Mine"})).status_code == 200


async def test_unknown_deal_is_404_for_reads_and_commands(client) -> None:
    rep = as_user(client, REP)
    missing = f"/deals/{uuid.uuid4()}"
    problem(await rep.get(missing), 404, "deal-not-found")
    problem(await rep.get(missing + "/history"), 404, "deal-not-found")
    problem(await rep.command("PATCH", missing, 1, {"title": "x"}), 404, "deal-not-found")
    problem(await rep.command("POST", missing + "/stage", 1, {"to": "x"}), 404, "deal-not-found")
    problem(await rep.get("/deals/not-a-uuid"), 422, "validation-error")


async def test_a_concurrent_change_that_wins_first_makes_the_other_a_409(client, db) -> None:
    """Both requests read version 1 (If-Match: * skips the precondition); an uncommitted
    version 2 holds both inside append; rolled back, one commits and the other conflicts."""
    rep = as_user(client, REP)
    deal = await rep.opened(await add_account(db))
    path = f"/deals/{deal['id']}/competitors"
    async with db.acquire() as conn:
        holder = conn.transaction()
        await holder.start()
        await conn.execute(
            """insert into events (stream_id, stream_type, version, event_id, event_type,
                                   data, recorded_at, hash)
               values ($1, 'deal', 2, gen_random_uuid(), 'Held', '{}', now(), '')""",
            deal["id"],
        )
        racing = [
            asyncio.create_task(rep.command("POST", path, "*", {"name": name}))
            for name in ("Kingdee", "SAP")
        ]
        waiting = "select count(*) from pg_stat_activity where wait_event_type = 'Lock'"
        await eventually(lambda: _at_least(db, waiting, 2))
        await holder.rollback()
        answers = await asyncio.gather(*racing)
    assert sorted(r.status_code for r in answers) == [200, 409]
    conflict = next(r for r in answers if r.status_code == 409)
    assert problem(conflict, 409, "version-conflict")["current_version"] == 2
    assert version_of(next(r for r in answers if r.status_code == 200)) == 2


async def _at_least(db, query: str, n: int) -> bool:
    return await db.fetchval(query) >= n


async def test_deal_errors_never_leak_reserved_problem_members(client, db) -> None:
    """DealClosedError carries ``status`` ("lost"): it must not replace the HTTP status."""
    rep, manager = as_user(client, REP), as_user(client, MANAGER)
    deal = await rep.opened(await add_account(db))
    path = f"/deals/{deal['id']}"
    lost = await rep.command(
        "POST", path + "/loss", 1, {"cause": "customer_cancelled", "summary": "budget cut"}
    )
    assert lost.status_code == 200 and lost.json()["status"] == "lost"
    body = problem(await rep.command("PATCH", path, 2, {"title": "x"}), 409, "deal-closed")
    assert body["status"] == 409 and body["deal_status"] == "lost"
    problem(await rep.command("POST", path + "/reopen", 2, {"reason": "back"}), 403, "not-allowed")
    reopened = await manager.command("POST", path + "/reopen", 2, {"reason": "budget back"})
    assert reopened.status_code == 200 and reopened.json()["status"] == "open"


async def test_a_change_made_by_another_replica_is_never_hidden_by_a_cached_state(
    client, db
) -> None:
    """The app keeps recent deal states; an append it did not make (another replica's)
    moves the stream past the cached version, so the next command folds it in."""
    rep = as_user(client, REP)
    deal = await rep.opened(await add_account(db))
    path = f"/deals/{deal['id']}"
    assert (await rep.command("PATCH", path, 1, {"title": "Ours"})).status_code == 200
    elsewhere = DealUpdated(
        deal_id=uuid.UUID(deal["id"]), title="Theirs", amount=None, expected_close_date=None,
        at=datetime.now(UTC),
    )  # fmt: skip
    await Repository(EventStore(db), DEAL).append(deal["id"], 2, [elsewhere], {"actor": "x"})
    problem(await rep.command("PATCH", path, 2, {"title": "Stale"}), 412, "stale-version")
    moved = await rep.command("PATCH", path, 3, {"next_step": "call"})
    assert moved.status_code == 200 and moved.json()["title"] == "Theirs"
    assert (await rep.get(path)).json()["version"] == 4
