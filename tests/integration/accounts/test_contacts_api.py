"""Contacts and buying roles over HTTP: lifecycle, rules, personal details and who sees them."""

from __future__ import annotations

import uuid

from .support import add_contact, headers, match, open_account, problem, settle, unique

MANAGER = headers("manager", "mgr-1")
PERSONAL = {
    "email": "zhang.wei@example.cn",
    "phone": "+86 138 0000 0000",
    "birthday": "1975-05-04",
    "hometown": "绍兴",
    "interests": ["围棋", "钓鱼"],
    "family_notes": "女儿今年高考",
}


async def test_contact_lifecycle_and_buying_roles(client, app) -> None:
    account = await open_account(client)
    added = await add_contact(client, account["id"], personal=PERSONAL)
    assert added["personal_status"] == "withheld" and added["personal"] is None
    path = f"/contacts/{added['id']}"

    read = await client.get(path, headers=headers())
    assert read.headers["etag"] == '"1"'
    assert read.json()["personal_status"] == "present"
    assert read.json()["personal"]["interests"] == ["围棋", "钓鱼"]
    audited = (await client.get(path, headers=headers("auditor", "aud-1"))).json()
    assert audited["personal_status"] == "withheld" and audited["personal"] is None

    updated = await client.patch(path, json={"title": "副总经理"}, headers=headers(**match(1)))
    assert updated.status_code == 200 and updated.json()["title"] == "副总经理"
    role = {"role": "economic_buyer", "influence": 5, "support": 2}
    assigned = await client.post(path + "/roles", json=role, headers=headers(**match(2)))
    held = assigned.json()["roles"]
    assert held[0]["role_zh"] == "决策者" and held[0]["support_zh"] == "拥护者"
    same = await client.post(path + "/roles", json=role, headers=headers(**match(3)))
    assert same.status_code == 200 and same.headers["etag"] == '"3"'  # nothing new recorded
    deal = str(uuid.uuid4())
    coach = {"role": "coach", "influence": 3, "support": 1, "deal_id": deal}
    assert (await client.post(path + "/roles", json=coach, headers=headers(**match(3)))).is_success
    removed = await client.delete(
        path + "/roles/coach", params={"deal_id": deal}, headers=headers(**match(4))
    )
    assert [r["role"] for r in removed.json()["roles"]] == ["economic_buyer"]
    problem(
        await client.delete(path + "/roles/coach", headers=headers(**match(5))), 404, "not-found"
    )
    left = await client.post(path + "/left", headers=headers(**match(5)))
    assert left.status_code == 200 and left.json()["left"] is True
    again = await client.post(path + "/roles", json=coach, headers=headers(**match(6)))
    problem(again, 409, "contact-left")

    first = (await client.get(path, params={"version": 1}, headers=headers())).json()
    assert first["title"] == "总工程师" and first["roles"] == []
    await settle(app)
    listed = (await client.get(f"/accounts/{account['id']}/contacts", headers=headers())).json()
    (summary,) = listed["items"]
    assert summary["left"] is True and summary["version"] == 6
    assert summary["roles"] == [
        {"role": "economic_buyer", "deal_id": None, "influence": 5, "support": 2}
    ]
    history = (await client.get(path + "/history", headers=headers())).json()["items"]
    assert [e["type"] for e in history] == [
        "ContactAdded",
        "ContactUpdated",
        "BuyingRoleAssigned",
        "BuyingRoleAssigned",
        "BuyingRoleRemoved",
        "ContactLeft",
    ]


async def test_contact_rules_roles_and_preconditions(client, app) -> None:
    account = await open_account(client)
    contact = await add_contact(client, account["id"])
    path = f"/contacts/{contact['id']}"
    unknown = await client.post(
        f"/accounts/{uuid.uuid4()}/contacts", json={"name": "李娜"}, headers=headers()
    )
    problem(unknown, 404, "not-found")
    problem(await client.get(f"/contacts/{account['id']}", headers=headers()), 404, "not-found")
    nobody = uuid.uuid4()
    ghost = await client.patch(
        f"/contacts/{nobody}", json={"personal": {"hometown": "绍兴"}}, headers=headers(**match(1))
    )
    problem(ghost, 404, "not-found")
    keys = "select count(*) from data_keys where subject_id = $1"
    assert await app.state.runtime.pool.fetchval(keys, str(nobody)) == 0  # no key for nobody
    listed = await client.get(f"/accounts/{uuid.uuid4()}/contacts", headers=headers())
    problem(listed, 404, "not-found")
    problem(
        await client.patch(
            f"/contacts/{account['id']}", json={"title": "x"}, headers=headers(**match(1))
        ),
        404,
        "not-found",
    )
    problem(
        await client.patch(path, json={"title": "x"}, headers=headers()),
        428,
        "precondition-required",
    )
    problem(
        await client.patch(path, json={"title": "x"}, headers=headers(**match(7))),
        412,
        "stale-version",
    )
    wild = {"role": "economic_buyer", "influence": 9, "support": 0}
    problem(
        await client.post(path + "/roles", json=wild, headers=headers(**match(1))),
        422,
        "invalid-command",
    )
    bad_email = {"personal": {"email": "not-an-email"}}
    problem(
        await client.patch(path, json=bad_email, headers=headers(**match(1))),
        422,
        "invalid-command",
    )
    problem(
        await client.delete(path + "/personal-data", headers=headers(**match(1))), 403, "forbidden"
    )
    auditor = await client.post(
        f"/accounts/{account['id']}/contacts",
        json={"name": "王芳"},
        headers=headers("auditor", "aud-1"),
    )
    problem(auditor, 403, "forbidden")

    archived = await client.post(f"/accounts/{account['id']}/archive", headers=headers(**match(1)))
    assert archived.status_code == 200
    late = await client.post(
        f"/accounts/{account['id']}/contacts", json={"name": "赵强"}, headers=headers()
    )
    problem(late, 409, "account-archived")
    problem(
        await client.patch(path, json={"title": "x"}, headers=headers(**match(1))),
        409,
        "account-archived",
    )
    # the right to erasure outlives the account
    erased = await client.delete(path + "/personal-data", headers={**MANAGER, **match(1)})
    assert erased.status_code == 200 and erased.json()["personal_status"] == "erased"


async def test_idempotent_add_with_personal_details_replays_the_first_answer(client) -> None:
    account = await open_account(client)
    url = f"/accounts/{account['id']}/contacts"
    body = {"name": unique("陈静"), "personal": {"birthday": "1980-01-02"}}
    key = {"Idempotency-Key": unique("add")}
    first = await client.post(url, json=body, headers=headers(**key))
    again = await client.post(url, json=body, headers=headers(**key))
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    other = {**body, "personal": {"birthday": "1980-01-03"}}
    problem(
        await client.post(url, json=other, headers=headers(**key)), 422, "idempotency-key-reused"
    )
    history = await client.get(f"/contacts/{first.json()['id']}/history", headers=MANAGER)
    assert [e["version"] for e in history.json()["items"]] == [1]


async def test_who_sees_personal_details_in_history_and_after_erasure(client) -> None:
    account = await open_account(client)
    contact = await add_contact(client, account["id"], personal=PERSONAL)
    path = f"/contacts/{contact['id']}"
    changed = {"personal": {**PERSONAL, "hometown": "杭州"}}
    assert (await client.patch(path, json=changed, headers=headers(**match(1)))).is_success

    as_manager = (await client.get(path + "/history", headers=MANAGER)).json()["items"]
    assert [e["data"]["personal"]["hometown"] for e in as_manager] == ["绍兴", "杭州"]
    as_rep = (await client.get(path + "/history", headers=headers())).json()["items"]
    assert {e["data"]["personal"] for e in as_rep} == {"[encrypted]"}

    erased = await client.delete(path + "/personal-data", headers={**MANAGER, **match(2)})
    assert erased.status_code == 200 and erased.headers["etag"] == '"3"'
    twice = await client.delete(path + "/personal-data", headers={**MANAGER, **match(3)})
    assert twice.status_code == 200 and twice.headers["etag"] == '"3"'
    after = (await client.get(path + "/history", headers=MANAGER)).json()["items"]
    assert [e["data"].get("personal") for e in after] == ["[erased]", "[erased]", None]
    for params in ({}, {"version": 1}):
        now = (await client.get(path, params=params, headers=MANAGER)).json()
        assert now["personal_status"] == "erased" and now["personal"] is None
    refill = await client.patch(path, json=changed, headers=headers(**match(3)))
    problem(refill, 409, "personal-data-erased")
    renamed = await client.patch(path, json={"name": "张伟（已离职）"}, headers=headers(**match(3)))
    assert renamed.status_code == 200
