"""Accounts over HTTP: commands, reads as of a past moment, unique names, roles, bad input."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta

from .support import headers, match, open_account, problem, settle, unique

MANAGER = headers("manager", "mgr-1")


async def test_open_grade_and_read_any_past_version(client) -> None:
    opened = await client.post(
        "/accounts",
        json={"name": unique("华东电力设计院"), "region": "华东", "scope": "national"},
        headers=headers(),
    )
    assert opened.status_code == 201 and opened.headers["etag"] == '"1"'
    account = opened.json()
    assert opened.headers["location"] == f"/accounts/{account['id']}"
    assert account["owner_id"] == "rep-1" and account["labels_zh"]["scope"] == "全国性"

    path = f"/accounts/{account['id']}"
    graded = await client.post(
        path + "/grade", json={"grade": "A", "reason": "年采购额过亿"}, headers=headers(**match(1))
    )
    assert graded.status_code == 200 and graded.headers["etag"] == '"2"'

    now = await client.get(path, headers=headers("auditor", "aud-1"))
    assert now.headers["etag"] == '"2"'
    assert now.json()["grade"] == "A" and now.json()["labels_zh"]["grade"] == "A级客户"
    first = await client.get(path, params={"version": 1}, headers=headers())
    assert first.headers["etag"] == '"1"' and first.json()["grade"] is None
    history = (await client.get(path + "/history", headers=headers())).json()["items"]
    opened_at = datetime.fromisoformat(history[0]["recorded_at"])
    as_of = (opened_at + timedelta(microseconds=1)).isoformat()
    before_grade = await client.get(path, params={"as_of": as_of}, headers=headers())
    assert before_grade.headers["etag"] == '"1"' and before_grade.json()["grade"] is None
    before_open = (opened_at - timedelta(seconds=1)).isoformat()
    problem(
        await client.get(path, params={"as_of": before_open}, headers=headers()), 404, "not-found"
    )
    problem(await client.get(path, params={"version": 3}, headers=headers()), 404, "not-found")
    naive = await client.get(path, params={"as_of": "2026-01-01T00:00:00"}, headers=headers())
    problem(naive, 422, "validation-error")


async def test_every_account_command_is_recorded_with_who_why_and_request_id(client) -> None:
    account = await open_account(client)
    path = f"/accounts/{account['id']}"
    steps = [
        ("patch", "", {"industry": "电力"}),
        ("post", "/tier", {"tier": "vip", "reason": "利润贡献前20%"}),
        ("post", "/relationship", {"relationship": "strategic", "reason": "签署战略协议"}),
        (
            "post",
            "/assessment",
            {"scores": [{"dimension": "trust", "score": 4}, {"dimension": "满意度", "score": 5}]},
        ),
        ("post", "/archive", {"reason": "客户合并"}),
    ]
    for version, (method, suffix, body) in enumerate(steps, start=1):
        sent = headers(**match(version), **{"X-Request-ID": f"req-{version}"})
        r = await client.request(method.upper(), path + suffix, json=body, headers=sent)
        assert r.status_code == 200, r.text
    final = r.json()
    assert final["archived"] and final["tier"] == "vip" and final["relationship"] == "strategic"
    read = (await client.get(path, params={"version": 5}, headers=headers())).json()
    assert read["last_assessment"]["overall"] == "4.50" and read["industry"] == "电力"

    history = (await client.get(path + "/history", headers=headers())).json()["items"]
    assert [e["type"] for e in history] == [
        "AccountOpened",
        "AccountUpdated",
        "AccountTierSet",
        "RelationshipSet",
        "RelationshipAssessed",
        "AccountArchived",
    ]
    assert history[2]["reason"] == "利润贡献前20%" and history[2]["request_id"] == "req-2"
    assert {e["actor"] for e in history} == {"rep-1"} and history[5]["role"] == "rep"
    paged = await client.get(path + "/history", params={"limit": 4}, headers=headers())
    rest = (await client.get(paged.json()["next"], headers=headers())).json()
    assert [e["version"] for e in rest["items"]] == [5, 6] and rest["next"] is None

    archived = await client.post(
        path + "/grade", json={"grade": "B", "reason": "x"}, headers=headers(**match(6))
    )
    problem(archived, 409, "account-archived")


async def test_account_names_are_unique_per_region_even_under_races(client) -> None:
    name = unique("Acme Corp")
    first = await open_account(client, name=name)
    again = await client.post(
        "/accounts", json={"name": f"  {name.upper()} ", "region": "华东"}, headers=headers()
    )
    body = problem(again, 409, "duplicate-account-name")
    assert body["existing_account_id"] == first["id"] and name in body["detail"]
    elsewhere = await client.post(
        "/accounts", json={"name": name, "region": "华南"}, headers=headers()
    )
    assert elsewhere.status_code == 201

    contested = unique("Race Ltd")
    answers = await asyncio.gather(
        *(
            client.post("/accounts", json={"name": contested, "region": "华东"}, headers=headers())
            for _ in range(6)
        )
    )
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [201, 409, 409, 409, 409, 409]
    winner = next(r.json()["id"] for r in answers if r.status_code == 201)
    assert {r.json()["existing_account_id"] for r in answers if r.status_code == 409} == {winner}

    other = await open_account(client)
    renamed = await client.patch(
        f"/accounts/{other['id']}", json={"name": contested}, headers=headers(**match(1))
    )
    problem(renamed, 409, "duplicate-account-name")
    # a rename frees the old name; archiving frees the name too
    moved = await client.patch(
        f"/accounts/{other['id']}", json={"name": unique("Moved")}, headers=headers(**match(1))
    )
    assert moved.status_code == 200
    assert (await open_account(client, name=other["name"]))["name"] == other["name"]
    archive = await client.post(f"/accounts/{winner}/archive", headers=headers(**match(1)))
    assert archive.status_code == 200
    assert (await open_account(client, name=contested))["id"] != winner


async def test_if_match_and_idempotency_key(client, app) -> None:
    account = await open_account(client)
    path = f"/accounts/{account['id']}"
    problem(
        await client.patch(path, json={"industry": "化工"}, headers=headers()),
        428,
        "precondition-required",
    )
    ok = await client.patch(path, json={"industry": "化工"}, headers=headers(**match(1)))
    assert ok.status_code == 200
    stale = await client.patch(path, json={"industry": "冶金"}, headers=headers(**match(1)))
    assert problem(stale, 412, "stale-version")["current_version"] == 2

    key = {"Idempotency-Key": unique("open")}
    body = {"name": unique("Retry Co"), "region": "华北"}
    first = await client.post("/accounts", json=body, headers=headers(**key))
    again = await client.post("/accounts", json=body, headers=headers(**key))
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    other = await client.post("/accounts", json={**body, "region": "华南"}, headers=headers(**key))
    problem(other, 422, "idempotency-key-reused")
    twice = {"name": unique("Twice Co"), "region": "华北"}
    raced = {"Idempotency-Key": unique("race")}
    both = await asyncio.gather(
        *(client.post("/accounts", json=twice, headers=headers(**raced)) for _ in range(6))
    )
    assert [r.status_code for r in both] == [201] * 6
    assert len({r.json()["id"] for r in both}) == 1
    await settle(app)
    listed = await client.get("/accounts", params={"q": body["name"]}, headers=headers())
    assert [a["id"] for a in listed.json()["items"]] == [first.json()["id"]]


async def test_roles_and_ownership(client) -> None:
    account = await open_account(client, owner="rep-1")
    path = f"/accounts/{account['id']}"
    grade = {"grade": "B", "reason": "潜力客户"}
    problem(await client.post("/accounts", json={"name": "x", "region": "y"}), 401, "unauthorized")
    auditor = await client.post(path + "/grade", json=grade, headers=headers("auditor", "a-1"))
    problem(auditor, 403, "forbidden")
    for_other = await client.post(
        "/accounts",
        json={"name": unique("X"), "region": "华东", "owner_id": "rep-9"},
        headers=headers(),
    )
    problem(for_other, 403, "not-allowed")
    not_owner = await client.post(
        path + "/grade", json=grade, headers=headers("rep", "rep-2", **match(1))
    )
    problem(not_owner, 403, "not-allowed")
    owner_change = {"owner_id": "rep-2"}
    problem(
        await client.patch(path, json=owner_change, headers=headers(**match(1))), 403, "not-allowed"
    )
    by_manager = await client.patch(path, json=owner_change, headers={**MANAGER, **match(1)})
    assert by_manager.status_code == 200 and by_manager.json()["owner_id"] == "rep-2"


async def test_bad_input_is_a_problem_never_a_500(client) -> None:
    account = await open_account(client)
    path = f"/accounts/{account['id']}"
    missing = f"/accounts/{uuid.uuid4()}"
    problem(await client.get(missing, headers=headers()), 404, "not-found")
    problem(
        await client.post(
            missing + "/grade", json={"grade": "A", "reason": "r"}, headers=headers(**match(1))
        ),
        404,
        "not-found",
    )
    problem(
        await client.patch(missing, json={"name": "n"}, headers=headers(**match(1))),
        404,
        "not-found",
    )
    problem(await client.get(missing + "/history", headers=headers()), 404, "not-found")
    problem(await client.get("/accounts/not-a-uuid", headers=headers()), 422, "validation-error")

    invalid = [
        ("post", "/grade", {"grade": "E", "reason": "r"}, "validation-error"),
        ("post", "/grade", {"grade": "A", "reason": "  "}, "invalid-command"),
        ("post", "/grade", {"grade": "A", "reason": "r\u0000"}, "validation-error"),
        ("post", "/grade", {"grade": "A", "reason": "r", "extra": 1}, "validation-error"),
        (
            "post",
            "/assessment",
            {"scores": [{"dimension": "trust", "score": 6}]},
            "invalid-command",
        ),
        ("post", "/assessment", {"scores": []}, "invalid-command"),
        ("patch", "", {}, "invalid-command"),
        ("patch", "", {"name": "a" * 201}, "invalid-command"),
        ("patch", "", {"scope": "global"}, "validation-error"),
    ]
    for method, suffix, body, slug in invalid:
        r = await client.request(
            method.upper(), path + suffix, json=body, headers=headers(**match(1))
        )
        problem(r, 422, slug)
    surrogate = b'{"name": "bad \\ud800", "region": "r"}'
    r = await client.post(
        "/accounts", content=surrogate, headers={**headers(), "Content-Type": "application/json"}
    )
    problem(r, 422, "validation-error")
    problem(
        await client.post("/accounts", json={"name": "n\u0000", "region": "r"}, headers=headers()),
        422,
        "validation-error",
    )
    problem(
        await client.get("/accounts", params={"q": "a\u0000"}, headers=headers()),
        422,
        "validation-error",
    )
    problem(
        await client.get("/accounts", params={"cursor": "nope"}, headers=headers()),
        400,
        "invalid-cursor",
    )
    problem(
        await client.get(path, params={"version": 2**40}, headers=headers()),
        422,
        "validation-error",
    )
    far = await client.get(path, params={"as_of": "9999-12-31T23:59:59-23:00"}, headers=headers())
    problem(far, 422, "validation-error")
    assert (await client.get(path, headers=headers())).headers["etag"] == '"1"'


async def test_directory_filters_search_and_cursor_pages(client, app) -> None:
    owner = unique("rep")
    tag = unique("filter")
    made = []
    for i, (grade, region) in enumerate(
        [("A", "华东"), ("B", "华东"), ("A", "西南"), ("C", "华东")]
    ):
        account = await open_account(client, owner=owner, name=f"{tag} {i}", region=region)
        r = await client.post(
            f"/accounts/{account['id']}/grade",
            json={"grade": grade, "reason": "年度评级"},
            headers=headers("rep", owner, **match(1)),
        )
        assert r.status_code == 200
        made.append(account)
    await client.post(
        f"/accounts/{made[3]['id']}/archive", headers=headers("rep", owner, **match(2))
    )
    await settle(app)

    async def names(**params) -> list[str]:
        r = await client.get("/accounts", params={"owner_id": owner, **params}, headers=headers())
        assert r.status_code == 200, r.text
        return [a["name"] for a in r.json()["items"]]

    assert await names() == [f"{tag} 0", f"{tag} 1", f"{tag} 2"]
    assert await names(grade="A") == [f"{tag} 0", f"{tag} 2"]
    assert await names(region="西南") == [f"{tag} 2"]
    assert await names(status="archived") == [f"{tag} 3"]
    assert await names(status="all", q=f"{tag.upper()} 3") == [f"{tag} 3"]
    assert await names(tier="vip") == []

    seen, url = [], "/accounts"
    params = {"owner_id": owner, "status": "all", "limit": 3}
    while url:
        page = (await client.get(url, params=params, headers=headers())).json()
        seen += [a["name"] for a in page["items"]]
        url, params = page["next"], None
    assert seen == [f"{tag} {i}" for i in range(4)]
