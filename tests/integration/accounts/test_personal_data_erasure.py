"""Crypto-shredding, end to end: no plaintext of erased personal details anywhere.

The service runs as its own process (uvicorn on a real port, logging at INFO to
a file) against this package's database. Personal details go in through every
path that carries them — add, update, idempotent retries, a refused command —
and the test proves they are never stored in plaintext (before erasure: sealed;
after: the key is gone), by scanning every column of every table in the
accounts schema (events, idempotency records, read models, keys) and the
service's whole log.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest

from services.accounts.projections import all_projections
from shared.embedded_pg import free_port, quote_ident
from tests.support.http import TEST_SECRET, auth, make_settings

_COLUMNS = """
select c.table_name, c.column_name, c.data_type from information_schema.columns c
join information_schema.tables t using (table_schema, table_name)
where c.table_schema = 'accounts' and t.table_type = 'BASE TABLE'
"""
_LAST_EVENT = "select tx_id, position from events order by tx_id desc, position desc limit 1"
_CAUGHT_UP = """
select count(*) from checkpoints where (tx_id, position) >= ($1::xid8, $2) and name = any($3)
"""
PROJECTIONS = [p.name for p in all_projections()]


@pytest.fixture
async def service(accounts_db: str, tmp_path: Path):
    """The accounts service in a process of its own; yields (base url, log file)."""
    settings = make_settings(accounts_db)
    port, log = free_port(), tmp_path / "accounts.log"
    env = {
        **os.environ,
        "DATABASE_URL": accounts_db,
        "DEALTRAIL_ENV": "test",
        "JWT_SECRET": TEST_SECRET,
        "MASTER_KEY": settings.master_key,
        "LOG_LEVEL": "INFO",
        "PROJECTION_POLL_SECONDS": "0.05",
    }
    args = [
        sys.executable,
        "-m",
        "uvicorn",
        "services.accounts.app:create_app",
        "--factory",
        "--port",
        str(port),
        "--log-level",
        "info",
    ]
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            *args, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url) as client:
            for _ in range(300):
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
        yield url, log
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 10)


async def test_no_plaintext_of_erased_personal_details_remains(service, accounts_db) -> None:
    url, log = service
    tag = uuid.uuid4().hex[:12]
    personal = {
        "email": f"mail{tag}@example.cn",
        "phone": f"+86 139 {int(tag[:8], 16) % 10**8:08d}",
        "birthday": "1971-02-03",
        "hometown": f"绍兴{tag}h",
        "interests": [f"围棋{tag}i"],
        "family_notes": f"女儿{tag}f 今年高考",
    }
    update = {**personal, "hometown": f"杭州{tag}u", "email": f"new{tag}@example.cn"}
    secrets = [
        *(v for v in personal.values() if isinstance(v, str)),
        personal["interests"][0],
        update["hometown"],
        update["email"],
    ]
    rep, manager = auth("rep", "rep-1"), auth("manager", "mgr-1")

    async with httpx.AsyncClient(base_url=url) as client:
        account = await client.post(
            "/accounts", json={"name": f"Erasure {tag}", "region": "华东"}, headers=rep
        )
        contacts = f"/accounts/{account.json()['id']}/contacts"
        body = {"name": "张伟", "personal": personal}
        key = {**rep, "Idempotency-Key": f"add-{tag}"}
        added = await client.post(contacts, json=body, headers=key)
        assert (await client.post(contacts, json=body, headers=key)).status_code == 201
        path = f"/contacts/{added.json()['id']}"
        changed = await client.patch(
            path,
            json={"personal": update},
            headers={**rep, "If-Match": '"1"', "Idempotency-Key": f"up-{tag}"},
        )
        assert changed.status_code == 200
        refused = {"name": "李娜", "personal": {**personal, "email": f"bad {tag}"}}
        assert (await client.post(contacts, json=refused, headers=rep)).status_code == 422
        shown = (await client.get(path, headers=rep)).json()["personal"]
        assert shown["hometown"] == update["hometown"]  # readable while the key exists
        await _settled(accounts_db)
        assert await _plaintext_in_database(accounts_db, secrets) == []  # sealed at rest

        erased = await client.delete(
            f"{path}/personal-data", headers={**manager, "If-Match": '"2"'}
        )
        assert erased.status_code == 200
        again = await client.patch(
            path, json={"personal": personal}, headers={**rep, "If-Match": '"3"'}
        )
        assert again.status_code == 409
        after = (await client.get(path, headers=manager)).json()
        assert after["personal_status"] == "erased" and after["personal"] is None
        history = (await client.get(f"{path}/history", headers=manager)).json()["items"]
        assert [e["data"].get("personal") for e in history][:2] == ["[erased]", "[erased]"]
        await _settled(accounts_db)

    conn = await asyncpg.connect(accounts_db, server_settings={"search_path": "accounts"})
    try:
        assert (
            await conn.fetchval(
                "select count(*) from data_keys where subject_id = $1", added.json()["id"]
            )
            == 0
        )
        sealed = await conn.fetchval(
            "select data->'personal'->>'enc' from events where stream_id = $1 and version = 1",
            added.json()["id"],
        )
        assert sealed == "aes-256-gcm/v1"  # the immutable log keeps only ciphertext
    finally:
        await conn.close()
    assert await _plaintext_in_database(accounts_db, secrets) == []
    logged = log.read_text(encoding="utf-8", errors="replace")
    assert "service.started" in logged  # INFO lines were captured
    assert [s for s in secrets if s in logged] == []


async def _plaintext_in_database(url: str, secrets: list[str]) -> list[str]:
    """``table.column: secret`` for every column of every accounts table holding one."""
    found = []
    conn = await asyncpg.connect(url)
    try:
        for table, column, kind in await conn.fetch(_COLUMNS):
            ref = "accounts." + quote_ident(table)
            col = quote_ident(column)
            if kind == "bytea":
                test = f"position(convert_to($1, 'UTF8') in {col}) > 0"
            else:
                test = f"position($1 in {col}::text) > 0"
            for secret in secrets:
                hit = await conn.fetchval(
                    f"select exists (select 1 from {ref} where {test})", secret
                )
                if hit:
                    found.append(f"{table}.{column}: {secret}")
    finally:
        await conn.close()
    return found


async def _settled(url: str, timeout: float = 10.0) -> None:
    """Every read model has applied every event."""
    conn = await asyncpg.connect(url, server_settings={"search_path": "accounts"})
    try:
        deadline = time.monotonic() + timeout
        while True:
            last = tuple(await conn.fetchrow(_LAST_EVENT))
            done = await conn.fetchval(_CAUGHT_UP, *last, PROJECTIONS)
            if done == len(PROJECTIONS):
                return
            assert time.monotonic() < deadline, "projections did not catch up"
            await asyncio.sleep(0.02)
    finally:
        await conn.close()
