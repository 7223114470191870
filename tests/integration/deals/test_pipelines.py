"""Pipelines: the presets, admin-defined ones as streams, and revisions of one in use."""

from __future__ import annotations

from typing import Any

from services.deals.api.schemas import PipelineList

from .support import ADMIN, MANAGER, REP, add_account, as_user, eventually, unique, version_of
from .test_deal_commands import problem


def definition(code: str, *stages: str, won: str = "signed") -> dict[str, Any]:
    names = stages or ("lead", "demo", "signed")
    return {
        "code": code,
        "name": "Channel sale",
        "name_zh": "渠道销售",
        "stages": [
            {
                "code": s,
                "name": s.title(),
                "probability": str(min(10 * (i + 1), 100)) if s != won else "100",
                "forecast_category": "closed" if s == won else "pipeline",
                "stall_limit_days": 14,
                "gates": ["quote_accepted"] if s == won else [],
            }
            for i, s in enumerate(names)
        ],
        "won_stage": won,
        "max_discount_pct": "10",
        "min_margin_pct": "12.5",
    }


async def test_presets_are_listed_and_read_only(client) -> None:
    rep = as_user(client, REP)
    listed = PipelineList.model_validate((await rep.get("/pipelines")).json())
    codes = [p.code for p in listed.items]
    assert codes[:3] == ["key-account", "customer-development", "showroom"]
    key_account = listed.items[0]
    assert key_account.preset and key_account.version is None
    assert [(s.code, s.probability) for s in key_account.stages] == [
        ("prospecting", "10"), ("initiation", "20"), ("proposal", "40"),
        ("tender", "60"), ("negotiation", "80"), ("implementation", "100"),
    ]  # fmt: skip
    assert key_account.stages[1].gates == ["initiation_report"]
    assert len(listed.items[2].stages) == 9
    assert (await rep.get("/pipelines/showroom")).json()["won_stage"] == "deal"
    admin = as_user(client, ADMIN)
    body = definition("key-account", "prospecting", "won", won="won")
    problem(await admin.command("POST", "/pipelines", None, body), 409, "pipeline-exists")
    problem(await admin.command("PUT", "/pipelines/key-account", 1, body), 409, "pipeline-exists")
    problem(await rep.get("/pipelines/nope"), 404, "pipeline-not-found")


async def test_admins_define_pipelines_that_deals_then_use(client, db) -> None:
    code, admin, manager = unique("channel"), as_user(client, ADMIN), as_user(client, MANAGER)
    problem(await manager.command("POST", "/pipelines", None, definition(code)), 403, "forbidden")
    created = await admin.command("POST", "/pipelines", None, definition(code))
    assert created.status_code == 201, created.text
    assert created.headers["Location"] == f"/pipelines/{code}"
    assert created.headers["ETag"] == '"1"'
    assert (created.json()["preset"], created.json()["version"]) == (False, 1)
    again = await admin.command("POST", "/pipelines", None, definition(code))
    problem(again, 409, "already-exists")
    assert (await admin.get(f"/pipelines/{code}")).headers["ETag"] == '"1"'

    rep = as_user(client, REP)
    deal = await rep.opened(await add_account(db), pipeline=code)
    assert (deal["pipeline"], deal["stage"], deal["probability"]) == (code, "lead", "10")
    moved = await rep.command("POST", f"/deals/{deal['id']}/stage", 1, {"to": "demo"})
    assert moved.status_code == 200 and moved.json()["probability"] == "20"
    problem(
        await rep.command("POST", f"/deals/{deal['id']}/stage", 2, {"to": "signed"}),
        409,
        "wrong-stage",
    )

    async def listed() -> bool:
        items = (await rep.get("/pipelines")).json()["items"]
        return any(p["code"] == code for p in items)

    await eventually(listed)
    # in use (once the deal list has the deal): stages may be added, never removed
    await eventually(lambda: _deal_listed(rep, deal["id"]))
    path = f"/pipelines/{code}"
    grown = definition(code, "lead", "qualify", "demo", "signed")
    problem(await admin.command("PUT", path, None, grown), 428, "precondition-required")
    revised = await admin.command("PUT", path, 1, grown)
    assert revised.status_code == 200, revised.text
    assert version_of(revised) == 2
    assert [s["code"] for s in revised.json()["stages"]] == ["lead", "qualify", "demo", "signed"]
    problem(await admin.command("PUT", path, 1, grown), 412, "stale-version")
    shrunk = problem(
        await admin.command("PUT", path, 2, definition(code, "lead", "demo", "signed")),
        409,
        "pipeline-in-use",
    )
    assert shrunk["stages"] == ["qualify"]
    reordered = definition(code, "qualify", "lead", "demo", "signed")
    problem(await admin.command("PUT", path, 2, reordered), 409, "pipeline-in-use")
    back = await rep.command(
        "POST", f"/deals/{deal['id']}/stage", 2, {"to": "qualify", "reason": "x"}
    )
    assert back.status_code == 200 and back.json()["stage"] == "qualify"
    problem(await admin.command("PUT", path, 2, definition("other")), 422, "code-mismatch")
    unknown = unique("none")
    problem(
        await admin.command("PUT", f"/pipelines/{unknown}", 1, definition(unknown)),
        404,
        "pipeline-not-found",
    )


async def _deal_listed(rep, deal_id: str) -> bool:
    return any(
        d["id"] == deal_id for d in (await rep.get("/deals", owner_id=rep.sub)).json()["items"]
    )


async def test_a_pipeline_nobody_uses_may_lose_stages(client) -> None:
    code, admin = unique("unused"), as_user(client, ADMIN)
    await admin.command("POST", "/pipelines", None, definition(code, "a", "b", "signed"))
    revised = await admin.command("PUT", f"/pipelines/{code}", 1, definition(code, "a", "signed"))
    assert revised.status_code == 200, revised.text
    assert [s["code"] for s in revised.json()["stages"]] == ["a", "signed"]


async def test_invalid_definitions_are_422(client) -> None:
    admin = as_user(client, ADMIN)
    no_won = definition(unique("bad"), won="missing")
    body = problem(await admin.command("POST", "/pipelines", None, no_won), 422, "invalid-pipeline")
    assert body["problems"] == ["the won stage must be one of the stages, after the first"]
    twice = definition(unique("bad"), "a", "a", "signed")
    problem(await admin.command("POST", "/pipelines", None, twice), 422, "invalid-pipeline")
    floats = definition(unique("bad"))
    floats["stages"][0]["probability"] = 10.0
    problem(await admin.command("POST", "/pipelines", None, floats), 422, "validation-error")
    gate = definition(unique("bad"))
    gate["stages"][0]["gates"] = ["a_handshake"]
    problem(await admin.command("POST", "/pipelines", None, gate), 422, "validation-error")
    upper = definition("Not-A-Slug")
    problem(await admin.command("POST", "/pipelines", None, upper), 422, "validation-error")
