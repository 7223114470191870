"""Reading deals: any past state, the audit history, and the list with its filters."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlparse

from services.deals.api.schemas import DealPage, DealPublic, HistoryPage
from services.deals.domain import OpenDeal, Role, decide
from services.deals.handlers import DEAL
from services.deals.projections.deal_list import DealList
from shared.aggregates import Repository
from shared.eventstore import EventStore
from shared.projections import rebuild

from .support import AUDITOR, MANAGER, REP, add_account, as_user, eventually, unique
from .test_deal_commands import problem


async def test_a_deal_as_of_a_moment_or_a_version(client, db) -> None:
    rep = as_user(client, REP)
    deal = await rep.opened(await add_account(db))
    path = f"/deals/{deal['id']}"
    await rep.command("PATCH", path, 1, {"title": "Renamed", "amount": "2000000.00"})
    auditor = as_user(client, AUDITOR)
    now = await auditor.get(path)
    assert (now.json()["title"], now.json()["amount"], now.headers["ETag"]) == (
        "Renamed",
        "2000000.00",
        '"2"',
    )
    DealPublic.model_validate(now.json())
    then = await auditor.get(path, as_of=deal["opened_at"])
    assert then.status_code == 200, then.text
    assert (then.json()["title"], then.json()["version"], then.headers["ETag"]) == (
        "ERP rollout",
        1,
        '"1"',
    )
    assert (await auditor.get(path, version=1)).json() == then.json()
    before = datetime.fromisoformat(deal["opened_at"]) - timedelta(seconds=1)
    problem(await auditor.get(path, as_of=before.isoformat()), 404, "deal-not-found")
    problem(await auditor.get(path, version=3), 404, "deal-not-found")
    problem(await auditor.get(path, as_of="2026-01-01T00:00:00"), 422, "validation-error")
    problem(await auditor.get(path, version=0), 422, "validation-error")


async def test_history_says_who_did_what_when_why_and_under_which_request(client, db) -> None:
    rep, manager = as_user(client, REP), as_user(client, MANAGER)
    deal = await rep.opened(await add_account(db))
    path = f"/deals/{deal['id']}"
    headers = {"X-Request-ID": "req-lost-42", "Idempotency-Key": "lose-42"}
    loss = {"cause": "no_bid_margin", "summary": "margin below floor"}
    await rep.command("POST", path + "/loss", 1, loss, **headers)
    await manager.command("POST", path + "/reopen", 2, {"reason": "cost revised"})
    response = await as_user(client, AUDITOR).get(path + "/history")
    assert response.status_code == 200 and response.headers["ETag"] == '"3"'
    page = HistoryPage.model_validate(response.json())
    opened, lost, reopened = page.items
    assert [e.version for e in page.items] == [1, 2, 3]
    assert (opened.type, opened.actor, opened.role) == ("DealOpened", rep.sub, "rep")
    assert (lost.type, lost.request_id, lost.idempotency_key) == (
        "DealLost",
        "req-lost-42",
        "lose-42",
    )
    assert lost.reason == "margin below floor" and lost.data["cause"] == "no_bid_margin"
    assert (reopened.actor, reopened.role, reopened.reason) == (
        manager.sub,
        "manager",
        "cost revised",
    )
    assert reopened.recorded_at.endswith("Z") and len(reopened.hash) == 64
    assert opened.data["amount"] == "1000000.00"


async def test_the_list_filters_pages_and_agrees_with_the_deal(client, db) -> None:
    rep, manager = as_user(client, REP), as_user(client, MANAGER)
    account, other_account = await add_account(db), await add_account(db)
    ids = [(await rep.opened(account))["id"] for _ in range(4)]
    ids.append((await rep.opened(other_account, pipeline="showroom", currency="USD"))["id"])
    first = f"/deals/{ids[0]}"
    await rep.command("POST", first + "/forecast", 1, {"probability": "55", "reason": "ok"})
    await rep.command("PATCH", first, 2, {"amount": "1234.50", "expected_close_date": "2026-11-30"})
    await rep.command("POST", f"/deals/{ids[1]}/loss", 1, {"cause": "other", "summary": "gone"})
    await manager.command("POST", f"/deals/{ids[1]}/reopen", 2, {"reason": "back"})
    await rep.command("POST", f"/deals/{ids[2]}/loss", 1, {"cause": "other", "summary": "gone"})

    async def listed(**params):
        response = await rep.get("/deals", owner_id=rep.sub, **params)
        assert response.status_code == 200, response.text
        return DealPage.model_validate(response.json())

    await eventually(lambda: _caught_up(listed, ids))
    everything = await listed()
    assert [d.id for d in everything.items] == ids[::-1]  # newest first
    row = next(d for d in everything.items if d.id == ids[0])
    state = (await rep.get(first)).json()
    for field in ("amount", "probability", "weighted_amount", "stage", "status", "version"):
        assert getattr(row, field) == state[field], field
    assert (row.amount, row.weighted_amount, row.expected_close_date) == (
        "1234.50",
        str((Decimal("1234.50") * Decimal("0.55")).quantize(Decimal("0.01"))),
        "2026-11-30",
    )
    assert [d.id for d in (await listed(status="lost")).items] == [ids[2]]
    assert {d.id for d in (await listed(status="open")).items} == {ids[0], ids[1], ids[3], ids[4]}
    assert [d.id for d in (await listed(pipeline="showroom")).items] == [ids[4]]
    assert [d.id for d in (await listed(stage="development")).items] == [ids[4]]
    assert len((await listed(account_id=str(account))).items) == 4

    seen, params = [], {"limit": 2}
    while True:
        page = await listed(**params)
        seen += [d.id for d in page.items]
        if page.next is None:
            break
        params = {k: v[0] for k, v in parse_qs(urlparse(page.next).query).items()}
        params.pop("owner_id")
    assert seen == ids[::-1]
    problem(await rep.get("/deals", cursor="garbage"), 400, "invalid-cursor")
    problem(await rep.get("/deals", status="maybe"), 422, "validation-error")


async def _caught_up(listed, ids) -> bool:
    page = await listed()
    versions = {d.id: d.version for d in page.items}
    return len(versions) == len(ids) and versions[ids[2]] == 2 and versions[ids[1]] == 3


async def test_stalled_deals_count_stage_changes_and_touches(client, db) -> None:
    """Prospecting stalls after 30 days without a stage change or a touch on the deal."""
    owner = unique("rep-stall")
    account = await add_account(db)
    old = datetime.now(UTC) - timedelta(days=40)
    repo = Repository(EventStore(db), DEAL)
    stalled, touched = uuid.uuid4(), uuid.uuid4()
    for deal_id in (stalled, touched):
        command = OpenDeal(
            deal_id=deal_id, account_id=account, title="Old", owner_id=owner,
            amount=Decimal("100.00"), currency="CNY", actor_id=owner, actor_role=Role.REP, at=old,
        )  # fmt: skip
        await repo.append(str(deal_id), 0, decide(DEAL.initial(""), command), {"actor": owner})
    await db.execute(
        "insert into deal_last_touch values ($1, $2)",
        touched,
        datetime.now(UTC) - timedelta(days=5),
    )
    rep = as_user(client, REP, owner)
    fresh = (await rep.opened(account))["id"]

    async def ids(**params) -> list[str]:
        response = await rep.get("/deals", owner_id=owner, **params)
        return [d["id"] for d in response.json()["items"]]

    await eventually(lambda: _count(ids, 3))
    assert await ids(stalled="true") == [str(stalled)]
    assert set(await ids(stalled="false")) == {str(touched), fresh}
    read = (await rep.get(f"/deals/{stalled}")).json()
    assert (read["stalled"], read["days_in_stage"]) == (True, 40)
    read = (await rep.get(f"/deals/{touched}")).json()
    assert read["stalled"] is False and read["last_touch_at"] is not None
    as_of = (datetime.now(UTC) - timedelta(days=20)).isoformat()
    assert (await rep.get(f"/deals/{stalled}", as_of=as_of)).json()["stalled"] is False


async def _count(ids, n: int) -> bool:
    return len(await ids()) == n


async def test_the_deal_list_rebuilds_to_the_same_rows(client, db, deals_db) -> None:
    rep = as_user(client, REP)
    deal = await rep.opened(await add_account(db))
    await rep.command(
        "POST", f"/deals/{deal['id']}/forecast", 1, {"category": "commit", "reason": "x"}
    )

    async def rows():
        return [dict(r) for r in await db.fetch("select * from deal_list order by deal_id")]

    await eventually(lambda: _listed_version(db, deal["id"], 2))
    before = await rows()
    report = await rebuild(EventStore(db), deals_db, "deals", DealList())
    assert report.events >= len(before)
    assert await rows() == before


async def _listed_version(db, deal_id: str, version: int) -> bool:
    found = await db.fetchval(
        "select version from deal_list where deal_id = $1", uuid.UUID(deal_id)
    )
    return found == version
