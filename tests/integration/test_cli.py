"""The dealtrail CLI against a real database."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import nats
import nats.errors
import pytest
from typer.testing import CliRunner

from shared.cli import app
from shared.db import create_pool
from shared.embedded_pg import free_port, quote_ident
from shared.eventstore import EventStore, NewEvent
from shared.fanout.jetstream import STREAM
from shared.http.auth import Role, decode_token, issue_token
from shared.settings import InsecureSettingsError, Settings

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
RUN_SECRET = "run-secret-" + "r" * 30


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


def _processes() -> dict[int, tuple[int, str, str]]:
    """pid -> (parent pid, command name, start time) of every process, from /proc."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] != "Z":  # a zombie has exited already
            table[int(entry.name)] = (int(fields[1]), name, fields[19])
    return table


def _descendants(root: int) -> dict[int, tuple[str, str]]:
    """pid -> (command name, start time) of every process below ``root``."""
    table = _processes()
    found: dict[int, tuple[str, str]] = {}
    parents = [root]
    while parents:
        parent = parents.pop()
        for pid, (ppid, name, started) in table.items():
            if ppid == parent:
                found[pid] = (name, started)
                parents.append(pid)
    return found


def _still_running(processes: dict[int, tuple[str, str]]) -> dict[int, str]:
    now = _processes()
    return {
        pid: name
        for pid, (name, started) in processes.items()
        if pid in now and now[pid][2] == started
    }


def _output(log: Path) -> str:
    return log.read_text(errors="replace")


async def _until(check, timeout: float, what: str, log: Path) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError, OSError, nats.errors.Error, LookupError):
            if result := await check():
                return result
        await asyncio.sleep(0.2)
    tail = "\n".join(_output(log).splitlines()[-30:])
    pytest.fail(f"{what} not reached in {timeout}s; last lines of `dealtrail run`:\n{tail}")


@pytest.mark.slow
async def test_run_serves_both_services_publishes_to_embedded_nats_and_stops_it_all(
    tmp_path,
) -> None:
    ports = {
        "ACCOUNTS_PORT": free_port(),
        "DEALS_PORT": free_port(),
        "EMBEDDED_PG_PORT": free_port(),
        "EMBEDDED_NATS_PORT": free_port(),
    }
    unset = {"DATABASE_URL", "NATS_URL", "EMBEDDED_NATS", "HOST", "ACCOUNTS_URL", "DEALS_URL"}
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env.update({k: str(v) for k, v in ports.items()})
    env.update(DEALTRAIL_ENV="dev", DATA_DIR=str(tmp_path / "data"), JWT_SECRET=RUN_SECRET)
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "shared.cli", "run",
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    children: dict[int, tuple[str, str]] = {}
    try:
        async with httpx.AsyncClient(timeout=5) as http:

            async def healthy() -> bool:
                assert proc.returncode is None, "dealtrail run exited"
                for name in ("ACCOUNTS_PORT", "DEALS_PORT"):
                    url = f"http://127.0.0.1:{ports[name]}/healthz"
                    if (await http.get(url)).status_code != 200:
                        return False
                return True

            await _until(healthy, 60, "both services healthy", log)
            assert "nats      nats://127.0.0.1:" in _output(log)  # the welcome text
            token = issue_token(RUN_SECRET, "u-run", Role.REP)
            opened = await http.post(
                f"http://127.0.0.1:{ports['ACCOUNTS_PORT']}/accounts",
                json={"name": "Embedded NATS Ltd", "region": "east"},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert opened.status_code == 201, opened.text

        nc = await nats.connect(f"nats://127.0.0.1:{ports['EMBEDDED_NATS_PORT']}")
        try:
            js = nc.jetstream()

            async def published():
                return await js.get_last_msg(STREAM, "dealtrail.accounts.AccountOpened")

            message = await _until(published, 15, "AccountOpened in stream DEALTRAIL", log)
        finally:
            await nc.close()
        assert json.loads(message.data)["subject"] == opened.json()["id"]

        children = _descendants(proc.pid)
        names = {name for name, _ in children.values()}
        assert {"nats-server", "postgres"} <= names, names
        proc.send_signal(signal.SIGTERM)  # to dealtrail run only: it must stop the rest
        assert await asyncio.wait_for(proc.wait(), 30) == 0
        assert _still_running(children) == {}
    finally:
        if proc.returncode is None:
            os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
        for pid in _still_running(children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
