"""The read models rebuild from event zero to exactly what the live runner built, and the
CLI replays an accounts stream with the service's aggregates."""

from __future__ import annotations

import asyncio
import json

import asyncpg
from typer.testing import CliRunner

from services.accounts.projections import all_projections
from shared.cli import app as cli
from shared.embedded_pg import quote_ident
from shared.projections import rebuild

from .support import add_contact, assign, headers, log_touch, match, open_account, settle


async def _rows(pool: asyncpg.Pool, table: str) -> set[str]:
    rows = await pool.fetch("select t::text from accounts." + quote_ident(table) + " t")
    return {r[0] for r in rows}


async def test_each_read_model_rebuilds_to_the_same_rows(client, app) -> None:
    account = await open_account(client)
    contact = await add_contact(client, account["id"], personal={"hometown": "绍兴"})
    boss = await add_contact(client, account["id"])
    await assign(client, contact, "coach")
    await assign(client, boss, "economic_buyer")
    await log_touch(client, account["id"], [contact["id"], boss["id"]], days_ago=2)
    renamed = {"name": account["name"] + "（集团）", "region": "华北"}
    await client.patch(f"/accounts/{account['id']}", json=renamed, headers=headers(**match(1)))
    await client.post(f"/contacts/{contact['id']}/left", headers=headers(**match(2)))
    await settle(app)

    runtime = app.state.runtime
    for projection in all_projections():
        before = {t: await _rows(runtime.pool, t) for t in projection.tables}
        # small batches: folds that span batch boundaries must agree with the live ones
        report = await rebuild(
            runtime.store, runtime.settings.database_url, "accounts", projection, batch_size=7
        )
        after = {t: await _rows(runtime.pool, t) for t in projection.tables}
        assert report.events > 0
        assert after == before, projection.name
        assert all(before.values()), f"{projection.name} is empty"


async def test_cli_replays_an_account_stream(client, accounts_db) -> None:
    account = await open_account(client)
    await client.post(
        f"/accounts/{account['id']}/tier",
        json={"tier": "growth", "reason": "增长最快"},
        headers=headers(**match(1)),
    )
    env = {"DATABASE_URL": accounts_db, "JWT_SECRET": "cli-secret-" + "y" * 30}
    result = await asyncio.to_thread(
        CliRunner().invoke, cli, ["replay", account["id"], "--service", "accounts"], env=env
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [json.loads(lines[i])["type"] for i in (0, 2)] == ["AccountOpened", "AccountTierSet"]
    assert json.loads(lines[3].removeprefix("  state: "))["tier"] == "growth"
