"""A key-account deal through the whole pipeline over HTTP: gates, quotes, win, close."""

from __future__ import annotations

import uuid

from services.deals.api.schemas import DealPublic, QuotePublic

from .support import MANAGER, REP, REPORT, add_account, as_user, quote_body, version_of
from .test_deal_commands import problem


async def test_a_deal_from_prospecting_to_closed(client, db) -> None:
    rep, manager = as_user(client, REP), as_user(client, MANAGER)
    deal = await rep.opened(await add_account(db))
    path, v = f"/deals/{deal['id']}", 1

    async def ok(method: str, suffix: str, body=None, user=rep, status: int = 200) -> dict:
        nonlocal v
        response = await user.command(method, path + suffix, v, body)
        assert response.status_code == status, response.text
        v = version_of(response)
        return response.json()

    # → initiation needs a complete initiation report: 409 listing what is missing
    gate = problem(
        await rep.command("POST", path + "/stage", v, {"to": "initiation"}), 409, "stage-gate-unmet"
    )
    assert gate["stage"] == "initiation"
    assert "initiation_report.project_number" in gate["missing"]
    partial = await ok("PUT", "/initiation-report", {"project_name": "ERP phase 2"})
    assert "project_number" in partial["initiation_report_missing"]
    await ok("PUT", "/initiation-report", REPORT)
    assert (await ok("POST", "/stage", {"to": "initiation"}))["stage"] == "initiation"
    assert (await ok("POST", "/stage", {"to": "proposal"}))["probability"] == "40"

    # → tender needs an approved or sent quote; a deep discount waits for a manager
    quote = await ok("POST", "/quotes", quote_body(discount="30"), status=201)
    QuotePublic.model_validate(quote)
    qpath = f"/quotes/{quote['quote_id']}"
    assert (quote["status"], quote["versions"][0]["approval_required"]) == (
        "pending_approval",
        True,
    )
    assert quote["total"] == "450000.00"  # 10 × 50,000 × 70% + 100 × 1,000
    gate = problem(
        await rep.command("POST", path + "/stage", v, {"to": "tender"}), 409, "stage-gate-unmet"
    )
    assert gate["missing"] == ["quote_approved_or_sent"]
    problem(await rep.command("POST", path + qpath + "/send", v), 409, "quote-approval-required")
    problem(await rep.command("POST", path + qpath + "/approve", v, {}), 403, "not-allowed")
    approved = await ok("POST", qpath + "/approve", {"note": "strategic account"}, user=manager)
    assert approved["versions"][0]["decided_by"] == manager.sub
    await ok("POST", "/stage", {"to": "tender"})
    await ok("POST", qpath + "/send")
    await ok("POST", "/stage", {"to": "negotiation"})
    problem(
        await rep.command(
            "POST", path + "/win", v, {"contract_number": "C-1", "signed_date": "2026-10-01"}
        ),
        409,
        "stage-gate-unmet",
    )
    await ok("POST", qpath + "/accept")

    won = await ok("POST", "/win", {"contract_number": "C-2026-17", "signed_date": "2026-10-01"})
    assert (won["status"], won["stage"], won["contract_value"]) == (
        "won",
        "implementation",
        "450000.00",
    )
    assert won["amount"] == won["weighted_amount"] == "450000.00"
    changed = await ok(
        "POST", "/change-orders", {"description": "extra module", "amount_delta": "-20000.00"}
    )
    assert changed["contract_value"] == "430000.00"
    closed = await ok("POST", "/close", {"acceptance_date": "2027-01-15", "summary": "accepted"})
    assert closed["status"] == "closed"
    DealPublic.model_validate(closed)

    # closed: everything but a manager's reopen is a clear 409
    for method, suffix, body in [
        ("PATCH", "", {"title": "x"}),
        ("POST", "/stage", {"to": "negotiation"}),
        ("POST", "/competitors", {"name": "SAP"}),
        ("POST", "/close", {"acceptance_date": "2027-01-16", "summary": "again"}),
    ]:
        problem(await rep.command(method, path + suffix, v, body), 409, "deal-closed")
    reopened = await ok("POST", "/reopen", {"reason": "acceptance disputed"}, user=manager)
    assert (reopened["status"], reopened["stage"]) == ("won", "implementation")


async def test_stage_moves_back_with_reason_and_skips_only_with_a_managers_override(
    client, db
) -> None:
    rep, manager = as_user(client, REP), as_user(client, MANAGER)
    deal = await rep.opened(await add_account(db))
    path = f"/deals/{deal['id']}"
    await rep.command("PUT", path + "/initiation-report", 1, REPORT)
    moved = await rep.command("POST", path + "/stage", 2, {"to": "initiation"})
    assert moved.status_code == 200
    problem(
        await rep.command("POST", path + "/stage", 3, {"to": "prospecting"}), 422, "reason-required"
    )
    back = await rep.command(
        "POST", path + "/stage", 3, {"to": "prospecting", "reason": "scope unclear"}
    )
    assert back.json()["stage"] == "prospecting"
    skip = {"to": "proposal", "reason": "fast track", "override": True}
    problem(
        await rep.command("POST", path + "/stage", 4, {"to": "proposal"}),
        409,
        "stage-skip-needs-override",
    )
    problem(await rep.command("POST", path + "/stage", 4, skip), 403, "not-allowed")
    skipped = await manager.command("POST", path + "/stage", 4, skip)
    assert skipped.status_code == 200 and skipped.json()["stage"] == "proposal"
    problem(await rep.command("POST", path + "/stage", 5, {"to": "nowhere"}), 422, "unknown-stage")
    problem(
        await rep.command("POST", path + "/stage", 5, {"to": "implementation"}), 409, "wrong-stage"
    )
    history = (await rep.get(path + "/history")).json()["items"]
    assert [e["reason"] for e in history if e["type"] == "StageChanged"] == [
        None, "scope unclear", "fast track"
    ]  # fmt: skip


async def test_forecast_override_survives_a_stage_change_as_a_conflict(client, db) -> None:
    rep = as_user(client, REP)
    deal = await rep.opened(await add_account(db))
    path = f"/deals/{deal['id']}"
    problem(
        await rep.command("POST", path + "/forecast", 1, {"probability": 30, "reason": "x"}),
        422,
        "validation-error",
    )
    asserted = await rep.command(
        "POST",
        path + "/forecast",
        1,
        {"probability": "30", "category": "commit", "reason": "CFO signed off"},
    )
    body = asserted.json()
    assert (body["probability"], body["forecast_category"], body["weighted_amount"]) == (
        "30",
        "commit",
        "300000.00",
    )
    await rep.command("PUT", path + "/initiation-report", 2, REPORT)
    moved = (await rep.command("POST", path + "/stage", 3, {"to": "initiation"})).json()
    forecast = moved["forecast"]
    assert (forecast["probability"], forecast["suggested_probability"]) == ("30", "20")
    assert forecast["conflict"]["asserted_probability"] == "30"
    cleared = await rep.command("DELETE", path + "/forecast?reason=follow%20the%20stage", 5)
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["forecast"]["conflict"] is None
    assert cleared.json()["probability"] == "20"
    assert version_of(cleared) == 6


async def test_competitors_lost_to_one_and_reopened(client, db) -> None:
    rep, manager = as_user(client, REP), as_user(client, MANAGER)
    deal = await rep.opened(await add_account(db))
    path = f"/deals/{deal['id']}"
    added = await rep.command(
        "POST",
        path + "/competitors",
        1,
        {"name": "Kingdee", "strengths": "price", "price_position": "lower"},
    )
    assert added.json()["competitors"][0]["price_position"] == "lower"
    problem(
        await rep.command(
            "POST", path + "/competitors", 2, {"name": "SAP", "price_position": "cheap"}
        ),
        422,
        "validation-error",
    )
    problem(
        await rep.command("DELETE", path + "/competitors/Oracle", 2), 404, "competitor-not-found"
    )
    removed = await rep.command("DELETE", path + "/competitors/kingdee", 2)
    assert removed.status_code == 200 and removed.json()["competitors"] == []
    loss = {"cause": "lost_to_competitor", "summary": "price"}
    problem(await rep.command("POST", path + "/loss", 3, loss), 422, "invalid-command")
    lost = await rep.command("POST", path + "/loss", 3, {**loss, "competitor": "Kingdee"})
    assert lost.json()["loss"]["competitor"] == "Kingdee"
    assert lost.json()["weighted_amount"] == "0.00"
    reopened = await manager.command("POST", path + "/reopen", 4, {"reason": "new tender"})
    assert (reopened.json()["status"], reopened.json()["stage"]) == ("open", "prospecting")


async def test_quote_revisions_stay_readable_and_diff_line_by_line(client, db) -> None:
    rep = as_user(client, REP)
    deal = await rep.opened(await add_account(db))
    path = f"/deals/{deal['id']}"
    quote_id = str(uuid.uuid4())
    issued = await rep.command(
        "POST", path + "/quotes", 1, quote_body(quote_id=quote_id, valid_until="2099-01-31")
    )
    assert issued.status_code == 201 and issued.headers["Location"] == f"{path}/quotes/{quote_id}"
    lines = quote_body()["lines"]
    revision = {
        "lines": [
            {**lines[0], "unit_price": "48000.00", "quantity": "12"},
            {"sku": "TRAINING", "quantity": "1", "unit_price": "9000.00", "unit_cost": "3000.00"},
        ],
        "reason": "volume deal",
    }
    revised = await rep.command("POST", f"{path}/quotes/{quote_id}/revisions", 2, revision)
    assert revised.status_code == 200, revised.text
    quote = revised.json()
    assert [v["status"] for v in quote["versions"]] == ["superseded", "approved"]
    assert quote["latest_version"] == 2
    read = await rep.get(f"{path}/quotes/{quote_id}")
    assert read.json() == quote and read.headers["ETag"] == '"3"'
    assert (await rep.get(f"{path}/quotes")).json()["items"] == [quote]
    diff = await rep.get(f"{path}/quotes/{quote_id}/diff", **{"from": 1, "to": 2})
    assert diff.status_code == 200, diff.text
    changes = {line["sku"]: line for line in diff.json()["lines"]}
    assert changes["ERP-CORE"]["change"] == "changed"
    fields = {f["field"]: (f["before"], f["after"]) for f in changes["ERP-CORE"]["fields"]}
    assert fields["unit_price"] == ("50000.00", "48000.00")
    assert fields["quantity"] == ("10", "12")
    assert changes["TRAINING"]["change"] == "added" and changes["SVC"]["change"] == "removed"
    assert {t["field"] for t in diff.json()["totals"]} >= {"total", "gross_margin"}
    problem(
        await rep.get(f"{path}/quotes/{quote_id}/diff", **{"from": 1, "to": 3}),
        404,
        "quote-version-not-found",
    )
    problem(await rep.get(f"{path}/quotes/{uuid.uuid4()}"), 404, "quote-not-found")
    problem(
        await rep.command("POST", path + "/quotes", 3, quote_body(currency="USD")),
        422,
        "invalid-command",
    )
    bad_line = quote_body()
    bad_line["lines"][0]["unit_price"] = 50000.0
    problem(await rep.command("POST", path + "/quotes", 3, bad_line), 422, "validation-error")


async def test_rejected_quotes_and_commands_out_of_place(client, db) -> None:
    rep, manager = as_user(client, REP), as_user(client, MANAGER)
    deal = await rep.opened(await add_account(db))
    path = f"/deals/{deal['id']}"
    quote = (await rep.command("POST", path + "/quotes", 1, quote_body(discount="30"))).json()
    qpath = f"{path}/quotes/{quote['quote_id']}"
    problem(await rep.command("POST", qpath + "/reject", 2, {"reason": "no"}), 403, "not-allowed")
    problem(await manager.command("POST", qpath + "/reject", 2, {}), 422, "validation-error")
    rejected = await manager.command("POST", qpath + "/reject", 2, {"reason": "margin too thin"})
    assert rejected.json()["status"] == "rejected"
    problem(await rep.command("POST", qpath + "/send", 3), 409, "quote-state-conflict")
    revision = {"lines": quote_body(discount="5")["lines"], "reason": "smaller discount"}
    revised = await rep.command("POST", qpath + "/revisions", 3, revision)
    assert [v["status"] for v in revised.json()["versions"]] == ["superseded", "approved"]
    win = {"contract_number": "C-9", "signed_date": "2026-10-01"}
    problem(await rep.command("POST", path + "/win", 4, win), 409, "wrong-stage")
    change = {"description": "more", "amount_delta": "100.00"}
    problem(await rep.command("POST", path + "/change-orders", 4, change), 409, "deal-not-won")
    close = {"acceptance_date": "2027-01-01", "summary": "done"}
    problem(await rep.command("POST", path + "/close", 4, close), 409, "deal-not-won")
    problem(
        await manager.command("POST", path + "/reopen", 4, {"reason": "x"}),
        409,
        "deal-not-reopenable",
    )


async def test_a_retried_command_replays_even_after_the_deal_moved_on(client, db) -> None:
    rep = as_user(client, REP)
    deal = await rep.opened(await add_account(db))
    path = f"/deals/{deal['id']}/competitors"
    key = {"Idempotency-Key": f"k-{uuid.uuid4()}"}
    first = await rep.command("POST", path, 1, {"name": "SAP"}, **key)
    await rep.command("POST", path, 2, {"name": "Oracle"})
    again = await rep.command("POST", path, 1, {"name": "SAP"}, **key)
    assert (again.status_code, again.headers["Idempotent-Replayed"]) == (200, "true")
    assert again.json() == first.json() and again.headers["ETag"] == '"2"'
    history = (await rep.get(f"/deals/{deal['id']}/history")).json()["items"]
    assert [e["type"] for e in history] == ["DealOpened", "CompetitorAdded", "CompetitorAdded"]
