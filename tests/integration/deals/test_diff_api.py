"""What changed in a deal between two moments, by whom and why: GET /deals/{id}/diff."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from structlog.testing import capture_logs

from services.deals.api.schemas.diffs import DealDiffPublic

from .support import ADMIN, AUDITOR, MANAGER, REP, REPORT, add_account, as_user
from .test_deal_commands import problem


async def _ok(user, method: str, path: str, version: int, body=None, **headers) -> dict:
    response = await user.command(method, path, version, body, **headers)
    assert response.status_code in (200, 201), response.text
    return response.json()


async def _diff(user, deal_id: str, **params) -> dict:
    response = await user.get(f"/deals/{deal_id}/diff", **params)
    assert response.status_code == 200, response.text
    DealDiffPublic.model_validate(response.json())
    return response.json()


async def test_a_stage_move_and_an_amount_change_between_two_moments(client, db) -> None:
    rep, manager = as_user(client, REP), as_user(client, MANAGER)
    deal = await rep.opened(await add_account(db))
    path = f"/deals/{deal['id']}"
    start = (await _ok(rep, "PUT", path + "/initiation-report", 1, REPORT))["last_activity_at"]
    move = {"to": "initiation", "reason": "presales approved"}
    await _ok(rep, "POST", path + "/stage", 2, move, **{"X-Request-ID": "req-diff-1"})
    end = (await _ok(manager, "PATCH", path, 3, {"amount": "1500000.00"}))["last_activity_at"]
    await _ok(rep, "PATCH", path, 4, {"title": "Renamed after the window"})

    body = await _diff(manager, deal["id"], **{"from": start, "to": end})
    assert (body["from"]["at"], body["from"]["version"], body["to"]["version"]) == (start, 2, 4)
    assert (body["from"]["deal"]["stage"], body["to"]["deal"]["stage"]) == (
        "prospecting",
        "initiation",
    )
    assert body["to"]["deal"]["title"] == "ERP rollout"
    assert [(e["version"], e["type"]) for e in body["events"]] == [
        (3, "StageChanged"),
        (4, "DealUpdated"),
    ]
    assert body["events"][0]["request_id"] == "req-diff-1"
    changes = {c["path"]: c for c in body["changes"]}
    stage, amount = changes["stage"], changes["amount"]
    assert (stage["change"], stage["before"], stage["after"]) == (
        "changed",
        "prospecting",
        "initiation",
    )
    assert stage["events"] == [
        {
            "version": 3,
            "type": "StageChanged",
            "actor": rep.sub,
            "role": "rep",
            "reason": "presales approved",
        }
    ]
    assert (amount["before"], amount["after"]) == ("1000000.00", "1500000.00")
    assert [(e["version"], e["actor"], e["role"]) for e in amount["events"]] == [
        (4, manager.sub, "manager")
    ]
    assert [e["version"] for e in changes["weighted_amount"]["events"]] == [3, 4]
    assert changes["stage_history[1]"]["change"] == "added"
    assert "title" not in changes and "version" not in changes

    by_versions = await _diff(manager, deal["id"], from_version=2, to_version=4)
    assert by_versions["changes"] == body["changes"]
    assert by_versions["events"] == body["events"]
    assert by_versions["from"]["at"] is None


async def test_a_deal_opened_after_from_is_compared_from_nothing(client, db) -> None:
    rep = as_user(client, REP)
    before = datetime.now(UTC) - timedelta(seconds=1)
    deal = await rep.opened(await add_account(db))
    await _ok(rep, "PATCH", f"/deals/{deal['id']}", 1, {"title": "Renamed"})

    body = await _diff(rep, deal["id"], **{"from": before.isoformat()})
    assert (body["from"]["version"], body["from"]["deal"]) == (0, None)
    assert (body["to"]["version"], body["to"]["deal"]["title"]) == (2, "Renamed")
    assert [e["version"] for e in body["events"]] == [1, 2]
    changes = {c["path"]: c for c in body["changes"]}
    assert {c["change"] for c in changes.values()} == {"added"}
    assert (changes["stage"]["after"], changes["stage"]["events"][0]["type"]) == (
        "prospecting",
        "DealOpened",
    )
    assert [(e["version"], e["actor"]) for e in changes["title"]["events"]] == [
        (1, rep.sub),
        (2, rep.sub),
    ]


async def test_bad_ranges_and_moments_are_422_and_unknown_deals_404(client, db) -> None:
    rep = as_user(client, REP)
    deal = await rep.opened(await add_account(db))
    diff = f"/deals/{deal['id']}/diff"
    opened = datetime.fromisoformat(deal["opened_at"])
    later = (opened + timedelta(hours=1)).isoformat()
    problem(await rep.get(diff, **{"from": later, "to": deal["opened_at"]}), 422, "invalid-range")
    problem(await rep.get(diff, from_version=1, to_version=0), 422, "validation-error")
    problem(await rep.get(diff, **{"from": "yesterday"}), 422, "validation-error")
    problem(await rep.get(diff, **{"from": "2026-01-01T00:00:00"}), 422, "validation-error")
    problem(await rep.get(diff), 422, "invalid-parameter")
    both = {"from": deal["opened_at"], "from_version": 1}
    problem(await rep.get(diff, **both), 422, "invalid-parameter")
    problem(await rep.get(diff, from_version=1, to_version=5), 404, "deal-not-found")
    earlier = (opened - timedelta(hours=2)).isoformat()
    too_early = {"from": earlier, "to": (opened - timedelta(hours=1)).isoformat()}
    problem(await rep.get(diff, **too_early), 404, "deal-not-found")
    problem(await rep.get(f"/deals/{uuid.uuid4()}/diff", from_version=0), 404, "deal-not-found")


async def test_whoever_reads_the_history_reads_the_diff(client, db) -> None:
    owner = as_user(client, REP)
    deal = await owner.opened(await add_account(db))
    path = f"/deals/{deal['id']}"
    readers = [owner, as_user(client, REP), as_user(client, MANAGER), as_user(client, ADMIN)]
    for reader in readers:
        history = await reader.get(path + "/history")
        diff = await reader.get(path + "/diff", from_version=0)
        assert (history.status_code, diff.status_code) == (200, 200), reader.role
    for headers in ({}, {"Authorization": "Bearer nonsense"}):
        history = await client.get(path + "/history", headers=headers)
        diff = await client.get(path + "/diff", params={"from_version": 0}, headers=headers)
        assert history.status_code == 401
        problem(diff, 401, "unauthorized")


async def test_an_auditor_reads_the_diff_and_the_read_is_logged(client, db) -> None:
    deal = await as_user(client, REP).opened(await add_account(db))
    auditor = as_user(client, AUDITOR)
    with capture_logs() as logs:
        body = await _diff(auditor, deal["id"], from_version=0, to_version=1)
    assert body["to"]["version"] == 1
    [read] = [entry for entry in logs if entry["event"] == "audit.read"]
    assert (read["auditor"], read["path"], read["status"]) == (
        auditor.sub,
        f"/deals/{deal['id']}/diff",
        200,
    )
    assert read["query"] == "from_version=0&to_version=1"
