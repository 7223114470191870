"""Touches over HTTP, and the views built from them: timeline, coverage, activity."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from .support import (
    add_contact,
    assign,
    headers,
    log_touch,
    match,
    open_account,
    problem,
    settle,
    unique,
)


async def test_log_and_read_a_touch_and_refuse_bad_ones(client) -> None:
    account = await open_account(client)
    contact = await add_contact(client, account["id"])
    touch = await log_touch(client, account["id"], [contact["id"]], channel="dinner")
    assert touch["logged_by"] == "rep-1" and touch["channel_zh"] == "宴请"
    read = await client.get(f"/touches/{touch['id']}", headers=headers("auditor", "aud-1"))
    assert read.json() == touch and read.headers["etag"] == '"1"'
    problem(await client.get(f"/touches/{account['id']}", headers=headers()), 404, "not-found")

    stranger = await add_contact(client, (await open_account(client))["id"])
    now = datetime.now(UTC)
    good = {
        "account_id": account["id"],
        "contact_ids": [contact["id"]],
        "channel": "call",
        "occurred_at": now.isoformat(),
        "summary": "电话沟通",
    }
    refused = [
        ({"contact_ids": [stranger["id"]]}, 422, "invalid-command"),
        ({"contact_ids": [str(uuid.uuid4())]}, 404, "not-found"),
        ({"account_id": str(uuid.uuid4())}, 404, "not-found"),
        ({"contact_ids": []}, 422, "validation-error"),
        ({"contact_ids": [contact["id"], contact["id"]]}, 422, "invalid-command"),
        ({"occurred_at": "2026-03-01T10:00:00"}, 422, "validation-error"),
        ({"occurred_at": (now + timedelta(hours=1)).isoformat()}, 422, "invalid-command"),
        ({"next_step_due": "2030-01-01"}, 422, "invalid-command"),
        ({"channel": "telepathy"}, 422, "validation-error"),
        ({"summary": "\u0000"}, 422, "validation-error"),
    ]
    for change, status, slug in refused:
        problem(
            await client.post("/touches", json={**good, **change}, headers=headers()), status, slug
        )
    auditor = await client.post("/touches", json=good, headers=headers("auditor", "aud-1"))
    problem(auditor, 403, "forbidden")
    await client.post(f"/accounts/{account['id']}/archive", headers=headers(**match(1)))
    problem(await client.post("/touches", json=good, headers=headers()), 409, "account-archived")


async def test_timeline_is_newest_first_in_pages_without_personal_details(client, app) -> None:
    account = await open_account(client)
    contact = await add_contact(client, account["id"], personal={"hometown": "绍兴"})
    await log_touch(client, account["id"], [contact["id"]], days_ago=3, channel="visit")
    await log_touch(client, account["id"], [contact["id"]], days_ago=1, channel="call")
    await client.post(
        f"/accounts/{account['id']}/grade",
        json={"grade": "A", "reason": "战略客户"},
        headers=headers(**match(1)),
    )
    await settle(app)

    url, params, entries = f"/accounts/{account['id']}/timeline", {"limit": 2}, []
    while url:
        page = (await client.get(url, params=params, headers=headers())).json()
        entries += page["items"]
        url, params = page["next"], None
    assert [e["type"] for e in entries] == [
        "AccountGraded",
        "ContactAdded",
        "AccountOpened",
        "TouchLogged",
        "TouchLogged",
    ]
    assert [e["details"].get("channel") for e in entries[3:]] == ["call", "visit"]
    added = entries[1]["details"]
    assert added["personal_changed"] is True and "personal" not in added
    touches = await client.get(
        f"/accounts/{account['id']}/timeline", params={"kind": "touch"}, headers=headers()
    )
    assert [e["kind"] for e in touches.json()["items"]] == ["touch", "touch"]
    missing = await client.get(f"/accounts/{uuid.uuid4()}/timeline", headers=headers())
    problem(missing, 404, "not-found")
    timeline = f"/accounts/{account['id']}/timeline"
    bad = await client.get(timeline, params={"cursor": "W10"}, headers=headers())
    problem(bad, 400, "invalid-cursor")


async def test_coverage_puts_untouched_accounts_first(client, app) -> None:
    owner = unique("rep")
    never = await open_account(client, owner=owner)
    stale = await open_account(client, owner=owner)
    covered = await open_account(client, owner=owner)
    gone = await open_account(client, owner=owner)

    old_friend = await add_contact(client, stale["id"], who=owner)
    await assign(client, old_friend, "technical_buyer")
    await log_touch(client, stale["id"], [old_friend["id"]], who=owner, days_ago=40)
    boss = await add_contact(client, covered["id"], who=owner)
    insider = await add_contact(client, covered["id"], who=owner)
    engineer = await add_contact(client, covered["id"], who=owner)
    await assign(client, boss, "economic_buyer")
    await assign(client, insider, "coach")
    await assign(client, engineer, "user_buyer")
    await log_touch(client, covered["id"], [boss["id"]], who=owner, days_ago=5)
    await log_touch(client, covered["id"], [insider["id"]], who=owner, days_ago=1)
    leaving = await client.post(f"/contacts/{engineer['id']}/left", headers=headers(**match(2)))
    assert leaving.status_code == 200
    await client.post(f"/accounts/{gone['id']}/archive", headers=headers("rep", owner, **match(1)))
    await settle(app)

    rows, url, params = [], "/views/coverage", {"owner_id": owner, "limit": 2}
    while url:
        page = (await client.get(url, params=params, headers=headers())).json()
        rows += page["items"]
        url, params = page["next"], None
    assert [r["account_id"] for r in rows] == [never["id"], stale["id"], covered["id"]]
    first, second, third = rows
    assert first["stale"] and first["days_since_touch"] is None and first["touches"] == 0
    assert second["stale"] and second["days_since_touch"] == 40
    assert second["roles_covered"] == ["technical_buyer"] and not second["has_coach"]
    assert second["last_economic_buyer_touch_at"] is None
    assert not third["stale"] and third["days_since_touch"] == 1 and third["touches"] == 2
    assert third["roles_covered"] == ["coach", "economic_buyer"] and third["has_coach"]
    assert third["roles_missing"] == ["technical_buyer", "user_buyer"]  # the user buyer left
    eb_touch = datetime.fromisoformat(third["last_economic_buyer_touch_at"])
    assert 4.9 < (datetime.now(UTC) - eb_touch) / timedelta(days=1) < 5.1


async def test_activity_per_owner_channel_and_week(client, app) -> None:
    rep_a, rep_b = unique("rep"), unique("rep")
    account = await open_account(client, owner=rep_a)
    contact = await add_contact(client, account["id"], who=rep_a)
    monday = datetime.now(UTC).date() - timedelta(days=datetime.now(UTC).weekday() + 14)
    for who, day, channel in [
        (rep_a, 0, "visit"),
        (rep_a, 1, "visit"),
        (rep_a, 8, "call"),
        (rep_b, 2, "demo"),
    ]:
        at = datetime.combine(monday + timedelta(days=day), datetime.min.time(), UTC)
        ago = (datetime.now(UTC) - at - timedelta(hours=12)) / timedelta(days=1)
        await log_touch(
            client, account["id"], [contact["id"]], who=who, days_ago=ago, channel=channel
        )
    await settle(app)

    span = {"from": monday.isoformat(), "to": (monday + timedelta(days=13)).isoformat()}
    report = (
        await client.get(
            "/views/activity", params={**span, "owner_id": rep_a}, headers=headers("manager", "m-1")
        )
    ).json()
    assert report["total"] == 3 and report["owner_id"] == rep_a
    (owner,) = report["owners"]
    assert owner["by_channel"] == {"visit": 2, "call": 1}
    assert [(w["week"], w["by_channel"]) for w in owner["weeks"]] == [
        (monday.isoformat(), {"visit": 2}),
        ((monday + timedelta(days=7)).isoformat(), {"call": 1}),
    ]
    both = (await client.get("/views/activity", params=span, headers=headers())).json()
    mine = {o["owner_id"]: o["total"] for o in both["owners"] if o["owner_id"] in (rep_a, rep_b)}
    assert mine == {rep_a: 3, rep_b: 1}
    backwards = {"from": span["to"], "to": span["from"]}
    problem(
        await client.get("/views/activity", params=backwards, headers=headers()),
        422,
        "invalid-command",
    )
    problem(
        await client.get("/views/activity", params={"to": "0001-01-02"}, headers=headers()),
        422,
        "invalid-command",
    )
