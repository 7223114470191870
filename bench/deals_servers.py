"""The servers the deals benchmark runs, and how it waits for them.

* ``bare_app`` — ``POST /bare``, a FastAPI + asyncpg endpoint that parses a JSON body
  and inserts one row, through the services' own pool (:func:`shared.db.create_pool`);
* ``uvicorn`` — an app factory served by uvicorn with two workers on a free port;
* ``deals_env`` — the deals service's settings for the benchmark;
* ``fresh_database`` — a new database migrated for both services, dropped afterwards;
* ``caught_up`` / ``settled`` — waits until the service's projections report no lag.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
from fastapi import FastAPI, Request

from bench import common
from bench.common import log
from shared.db import create_pool
from shared.embedded_pg import free_port

SECRET = "bench-secret-" + "x" * 40
MASTER_KEY = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
BARE_TABLE = """
create table public.bench_bare (
    id bigint generated always as identity primary key,
    body jsonb not null,
    at timestamptz not null default now()
)
"""


def bare_app() -> FastAPI:
    """``POST /bare``: parse the JSON body, insert one row, answer a small JSON."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The services' pool (same release path, same jsonb codec), sized like theirs.
        app.state.pool = await create_pool(
            os.environ["BENCH_BARE_URL"], "public", min_size=2, max_size=20
        )
        yield
        await app.state.pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.post("/bare")
    async def insert(request: Request) -> dict[str, Any]:
        body = await request.json()
        row_id = await request.app.state.pool.fetchval(
            "insert into bench_bare (body) values ($1) returning id", body
        )
        return {"id": row_id}

    return app


BARE_LUA = """
wrk.method = "POST"
wrk.body = '{"account_id":"00000000-0000-0000-0000-000000000001","title":"Bench deal",'
  .. '"amount":"1000000.00","currency":"CNY"}'
wrk.headers["Content-Type"] = "application/json"
"""


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def uvicorn(factory: str, env: dict[str, str]) -> Iterator[tuple[str, int]]:
    """``factory`` served by uvicorn with two workers on a free port; yields its URL and
    the process id of its master."""
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", factory, "--factory", "--workers", "2",
           "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
           "--no-access-log"]  # fmt: skip
    proc = subprocess.Popen(cmd, env={**os.environ, **env}, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + "/healthz", timeout=1).status_code in (200, 404):
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{factory} did not start")
            time.sleep(0.2)
        time.sleep(1.0)  # both workers up
        yield url, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def deals_env(db_url: str) -> dict[str, str]:
    return {
        "DATABASE_URL": db_url, "DEALTRAIL_ENV": "test", "JWT_SECRET": SECRET,
        "MASTER_KEY": MASTER_KEY, "LOG_LEVEL": "WARNING", "DB_POOL_MAX": "20",
        "PROJECTION_BATCH_SIZE": "5000", "PROJECTION_POLL_SECONDS": "0.5",
        "ACCOUNTS_URL": f"http://127.0.0.1:{_closed_port()}",  # the directory is filled here
    }  # fmt: skip


def fresh_database(url: str) -> contextlib.AbstractAsyncContextManager[str]:
    """A new database migrated for both services; dropped afterwards."""
    from shared.migrate import upgrade_all

    return common.fresh_database(url, "bench_deals", upgrade_all)


async def caught_up(url: str, timeout: float = 240.0) -> float:
    """Seconds until every projection reports no lag on /readyz."""
    started, reported = time.perf_counter(), 0.0
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        while (spent := time.perf_counter() - started) < timeout:
            checks = (await http.get("/readyz")).json().get("checks", {})
            lags = {n: p["lag"] for n, p in checks.get("projections", {}).items()}
            if lags and not any(lags.values()):
                return spent
            if spent - reported > 15:
                log(f"projection lag (capped): {lags}")
                reported = spent
            await asyncio.sleep(1.0)
    raise TimeoutError("projections did not catch up")


def settled(url: str, timeout: float = 120.0) -> float:
    """Seconds until no projection lags (polled quickly: it ends a measurement)."""
    started = time.perf_counter()
    with httpx.Client(base_url=url, timeout=10) as http:
        while (spent := time.perf_counter() - started) < timeout:
            checks = http.get("/readyz").json().get("checks", {})
            lags = [p["lag"] for p in checks.get("projections", {}).values()]
            if lags and not any(lags):
                return spent
            time.sleep(0.05)
    raise TimeoutError("projections did not catch up")
