"""The dealtrail CLI against a real database."""

from __future__ import annotations

import asyncio
import json
import uuid

import asyncpg
import pytest
from typer.testing import CliRunner

from shared.cli import app
from shared.db import create_pool
from shared.embedded_pg import quote_ident
from shared.eventstore import EventStore, NewEvent
from shared.http.auth import decode_token
from shared.settings import InsecureSettingsError, Settings

runner = CliRunner()


@pytest.fixture
async def fresh_db(pg_server):
    name = "cli_" + uuid.uuid4().hex[:8]
    conn = await asyncpg.connect(pg_server)
    await conn.execute("create database " + quote_ident(name))
    await conn.close()
    yield pg_server.rsplit("/", 1)[0] + "/" + name


def invoke(args: list[str], url: str):
    env = {"DATABASE_URL": url, "JWT_SECRET": "cli-secret-" + "y" * 30}
    return runner.invoke(app, args, env=env)


async def test_migrate_verify_and_replay(fresh_db) -> None:
    result = await asyncio.to_thread(invoke, ["migrate"], fresh_db)
    assert result.exit_code == 0, result.output

    pool = await create_pool(fresh_db, "deals", min_size=1, max_size=2)
    try:
        await EventStore(pool).append(
            "note-1", "note", 0, [NewEvent("Noted", {"n": 1}), NewEvent("Noted", {"n": 2})]
        )
        ok = await asyncio.to_thread(invoke, ["verify", "--service", "deals"], fresh_db)
        assert ok.exit_code == 0 and json.loads(ok.output)["events_checked"] == 2

        replay = await asyncio.to_thread(invoke, ["replay", "note-1"], fresh_db)
        assert replay.exit_code == 0
        assert [json.loads(line)["version"] for line in replay.output.splitlines()[:2]] == [1, 2]

        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("alter table events disable trigger user")
            await conn.execute("update events set data = '{}'::jsonb where version = 2")
            await conn.execute("alter table events enable trigger user")
        broken = await asyncio.to_thread(invoke, ["verify"], fresh_db)
        assert broken.exit_code == 1
        assert json.loads(broken.output)["first_broken_link"]["version"] == 2
    finally:
        await pool.close()

    missing = await asyncio.to_thread(invoke, ["replay", "nope"], fresh_db)
    assert missing.exit_code == 1


def test_token_is_signed_with_the_configured_secret() -> None:
    result = invoke(["token", "--role", "manager", "--sub", "u-9"], "postgresql://unused/x")
    assert result.exit_code == 0
    principal = decode_token("cli-secret-" + "y" * 30, result.output.strip())
    assert principal.sub == "u-9" and principal.role.value == "manager"
    bad = invoke(["token", "--role", "king", "--sub", "u"], "postgresql://unused/x")
    assert bad.exit_code != 0


def test_outside_dev_a_missing_secret_refuses_to_start() -> None:
    with pytest.raises(InsecureSettingsError):
        Settings(dealtrail_env="prod", jwt_secret=None, master_key="a")
    with pytest.raises(InsecureSettingsError):
        Settings(dealtrail_env="prod", jwt_secret="short", master_key="a")
