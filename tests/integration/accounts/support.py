"""Small steps the accounts tests share: open, add, log, and wait for the read models."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from tests.support.http import auth

# The newest event, whatever is still in flight (the feed only shows what is below xmin).
_LAST_EVENT = "select tx_id, position from events order by tx_id desc, position desc limit 1"
_CHECKPOINTS = "select name, tx_id, position from checkpoints"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def headers(role: str = "rep", sub: str = "rep-1", **extra: str) -> dict[str, str]:
    return {**auth(role, sub), **extra}


def match(version: int | str) -> dict[str, str]:
    return {"If-Match": f'"{version}"'}


async def open_account(
    client: httpx.AsyncClient, owner: str = "rep-1", **fields: Any
) -> dict[str, Any]:
    body = {"name": unique("华东电力"), "region": "华东", "industry": "能源", **fields}
    r = await client.post("/accounts", json=body, headers=headers("rep", owner))
    assert r.status_code == 201, r.text
    return r.json()


async def add_contact(
    client: httpx.AsyncClient, account_id: str, who: str = "rep-1", **fields: Any
) -> dict[str, Any]:
    body = {"name": unique("张伟"), "title": "总工程师", **fields}
    r = await client.post(
        f"/accounts/{account_id}/contacts", json=body, headers=headers("rep", who)
    )
    assert r.status_code == 201, r.text
    return r.json()


async def assign(
    client: httpx.AsyncClient, contact: dict, role: str, influence: int = 4, support: int = 1
) -> dict[str, Any]:
    current = (await client.get(f"/contacts/{contact['id']}", headers=headers())).headers["etag"]
    r = await client.post(
        f"/contacts/{contact['id']}/roles",
        json={"role": role, "influence": influence, "support": support},
        headers={**headers(), "If-Match": current},
    )
    assert r.status_code == 200, r.text
    return r.json()


async def log_touch(
    client: httpx.AsyncClient,
    account_id: str,
    contact_ids: list[str],
    who: str = "rep-1",
    days_ago: float = 0,
    channel: str = "visit",
) -> dict[str, Any]:
    body = {
        "account_id": account_id,
        "contact_ids": contact_ids,
        "channel": channel,
        "occurred_at": (datetime.now(UTC) - timedelta(days=days_ago)).isoformat(),
        "summary": "介绍方案，客户关注交付周期",
    }
    r = await client.post("/touches", json=body, headers=headers("rep", who))
    assert r.status_code == 201, r.text
    return r.json()


async def settle(app: FastAPI, timeout: float = 10.0) -> None:
    """Wait until every projection has applied every committed event."""
    pool = app.state.runtime.pool
    deadline = time.monotonic() + timeout
    while True:
        last = await pool.fetchrow(_LAST_EVENT)
        if last is None:
            return
        rows = await pool.fetch(_CHECKPOINTS)
        done = {r["name"] for r in rows if (r["tx_id"], r["position"]) >= tuple(last)}
        if set(app.state.runtime.runner.projections) <= done:
            return
        assert time.monotonic() < deadline, "projections did not catch up"
        await asyncio.sleep(0.01)


def problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    """Assert an RFC 9457 problem of ``status`` with type ``…/slug``; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "https://dealtrail.dev/problems/" + slug, body
    return body
