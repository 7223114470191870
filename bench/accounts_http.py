"""Accounts service over HTTP: touches per second, the coverage view at scale, feed lag.

One run, one PostgreSQL; the accounts service runs as deployed — its own
uvicorn process (one worker) on a real port — and the load comes from here:

* **touches/s**: ``CONCURRENCY`` httpx tasks POST /touches (each a new touch
  stream, checked against its account and contacts, appended with its events);
* **/views/coverage latency** (p50/p95/p99, pages of 50, first pages, owner
  filter and deeper cursor pages) once the read models hold 10,000 accounts,
  20,000 contacts and 100,000 touches — appended straight to the store in
  batched transactions while the service's projections catch up (their
  catch-up time is reported too);
* **feed consumer lag**: a :class:`shared.feed.FeedConsumer` follows
  GET /events while touches arrive at 200/s; lag is from a touch's POST being
  answered (its append committed) to the consumer applying it. Target: p99 ≤ 500 ms.

Run ``python -m bench.accounts_http`` (or ``python -m bench accounts_http`` once
registered in bench/__main__.py). ``BENCH_DURATION`` sets the touch-rate window (s),
``BENCH_WORKERS`` the service's uvicorn worker processes (default 1, as ``dealtrail run``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import random
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx

from bench.accounts_load import OWNERS, load_and_catch_up
from bench.common import fresh_database, log, percentile, postgres, server_info, target
from services.accounts.domain.enums import Channel
from shared.db import create_pool
from shared.embedded_pg import free_port, quote_ident
from shared.eventstore import EventStore
from shared.eventstore.feed_schema import FEED_CHECKPOINTS_DDL
from shared.feed import FeedConsumer
from shared.http.auth import issue_token
from shared.migrate import upgrade

NAME = "accounts_http"
DURATION = float(os.environ.get("BENCH_DURATION", "8"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "1"))  # uvicorn worker processes
WARMUP, CONCURRENCY, SEED_ACCOUNTS = 1.0, 16, 40
COVERAGE_REQUESTS = 300
LAG_RATE, LAG_SECONDS = 200.0, 10.0
TARGETS = {"coverage_p95_ms": 100.0, "lag_p99_ms": 500.0}
SECRET = "bench-" + secrets.token_urlsafe(40)


async def run(url: str) -> dict[str, Any]:
    started = time.perf_counter()
    info = await server_info(url)
    headers = {"Authorization": "Bearer " + issue_token(SECRET, "bench-rep", "rep")}
    # idle connections are dropped before uvicorn's 5 s keep-alive timeout closes them
    limits = httpx.Limits(max_connections=32, max_keepalive_connections=32, keepalive_expiry=2)
    async with (
        database(url) as db,
        service(db) as base,
        httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=30) as http,
    ):
        seeded = [await seed_account(http, i) for i in range(SEED_ACCOUNTS)]
        touches = await bench_touches(http, seeded)
        loaded = await load_and_catch_up(db)
        coverage = await bench_coverage(http)
        lag = await bench_lag(http, base, db, seeded)
    targets = {
        "coverage_p95_ms": target(coverage["p95_ms"], TARGETS["coverage_p95_ms"], at_least=False),
        "lag_p99_ms": target(lag["p99_ms"], TARGETS["lag_p99_ms"], at_least=False),
    }
    return {
        "benchmark": NAME,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "environment": {
            **info,
            "service": f"uvicorn, {WORKERS} worker(s), same machine as the load",
        },
        "touches": touches,
        "bulk_load": loaded,
        "coverage": coverage,
        "feed_lag": lag,
        "targets": targets,
        "all_targets_pass": all(t["pass"] for t in targets.values()),
        "elapsed_s": round(time.perf_counter() - started, 1),
    }


def database(url: str) -> contextlib.AbstractAsyncContextManager[str]:
    """A fresh database with the accounts migrations applied; dropped afterwards."""
    return fresh_database(url, "bench_accounts", lambda db: upgrade(db, "accounts"))


@contextlib.asynccontextmanager
async def service(db: str) -> AsyncIterator[str]:
    """The accounts service in its own uvicorn process; yields its base URL."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": db,
        "DEALTRAIL_ENV": "test",
        "JWT_SECRET": SECRET,
        "MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
        "LOG_LEVEL": "WARNING",
    }
    args = [
        sys.executable,
        "-m",
        "uvicorn",
        "services.accounts.app:create_app",
        "--factory",
        "--port",
        str(port),
        "--no-access-log",
        "--workers",
        str(WORKERS),
        "--log-level",
        "warning",
    ]
    process = await asyncio.create_subprocess_exec(*args, env=env, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base) as probe:
            for _ in range(600):
                with contextlib.suppress(httpx.TransportError):
                    if (await probe.get("/healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.05)
        log(f"accounts service on {base}")
        yield base
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 15)


async def seed_account(http: httpx.AsyncClient, i: int) -> tuple[str, list[str]]:
    opened = await http.post("/accounts", json={"name": f"种子客户 {i}", "region": "华东"})
    account_id = opened.json()["id"]
    contacts = [
        (await http.post(f"/accounts/{account_id}/contacts", json={"name": n})).json()["id"]
        for n in ("张伟", "李娜")
    ]
    return account_id, contacts


def _touch(account: tuple[str, list[str]], at: datetime | None = None) -> dict[str, Any]:
    account_id, contacts = account
    return {
        "account_id": account_id,
        "contact_ids": contacts[: random.randint(1, 2)],
        "channel": random.choice(list(Channel)).value,
        "occurred_at": (at or datetime.now(UTC)).isoformat(),
        "summary": "拜访客户，沟通项目进展",
    }


async def bench_touches(http: httpx.AsyncClient, seeded: list) -> dict[str, Any]:
    """POST /touches from CONCURRENCY tasks; only touches answered inside the window count."""
    latencies: list[float] = []
    window = [float("inf"), float("inf")]
    stop = asyncio.Event()

    async def worker() -> None:
        while not stop.is_set():
            t0 = time.perf_counter()
            r = await http.post("/touches", json=_touch(random.choice(seeded)))
            assert r.status_code == 201, r.text
            if window[0] <= (done := time.perf_counter()) <= window[1]:
                latencies.append(done - t0)

    tasks = [asyncio.create_task(worker()) for _ in range(CONCURRENCY)]
    try:
        await asyncio.sleep(WARMUP)
        window[:] = [time.perf_counter(), time.perf_counter() + DURATION]
        await asyncio.sleep(DURATION)
    finally:
        stop.set()
        await asyncio.gather(*tasks)
    rate = len(latencies) / DURATION
    ms = sorted(x * 1000 for x in latencies)
    log(f"touches: {rate:.0f}/s at concurrency {CONCURRENCY}")
    return {
        "touches_per_s": round(rate, 1),
        "concurrency": CONCURRENCY,
        "seconds": DURATION,
        "latency_p50_ms": round(percentile(ms, 50), 1),
        "latency_p95_ms": round(percentile(ms, 95), 1),
    }


async def bench_coverage(http: httpx.AsyncClient) -> dict[str, Any]:
    """Latency of GET /views/coverage: first pages, per owner, and following cursors."""
    timings: dict[str, list[float]] = {"first_page": [], "owner": [], "next_pages": []}
    first = (await http.get("/views/coverage")).json()
    assert len(first["items"]) == 50 and first["items"][0]["stale"], first["items"][:1]
    for i in range(COVERAGE_REQUESTS + 30):
        kind = ("first_page", "owner", "next_pages")[i % 3]
        url, params = "/views/coverage", {}
        if kind == "owner":
            params = {"owner_id": f"rep-{i % OWNERS}"}
        elif kind == "next_pages":
            url = first["next"]
        t0 = time.perf_counter()
        r = await http.get(url, params=params)
        elapsed = (time.perf_counter() - t0) * 1000
        assert r.status_code == 200, r.text
        if kind == "next_pages":
            first = r.json() if r.json()["next"] else (await http.get("/views/coverage")).json()
        if i >= 30:  # after a warm-up
            timings[kind].append(elapsed)
    everything = sorted(x for values in timings.values() for x in values)
    log(f"coverage p95 {percentile(everything, 95):.1f} ms")
    return {
        "requests": len(everything),
        "page_size": 50,
        "p50_ms": round(percentile(everything, 50), 2),
        "p95_ms": round(percentile(everything, 95), 2),
        "p99_ms": round(percentile(everything, 99), 2),
        "p95_ms_by_kind": {k: round(percentile(sorted(v), 95), 2) for k, v in timings.items()},
    }


async def bench_lag(http: httpx.AsyncClient, base: str, db: str, seeded: list) -> dict[str, Any]:
    """A FeedConsumer's lag behind touches logged at LAG_RATE per second."""
    schema, applied = "bench_consumer_" + uuid.uuid4().hex[:6], {}
    pool = await create_pool(db, "accounts", min_size=1, max_size=1)
    try:
        head = await EventStore(pool).head()  # follow from here, not from event zero
    finally:
        await pool.close()
    conn = await asyncpg.connect(db)
    try:
        await conn.execute("create schema " + quote_ident(schema))
        await conn.execute("set search_path to " + quote_ident(schema))
        await conn.execute(FEED_CHECKPOINTS_DDL)
        await conn.execute("insert into feed_checkpoints values ('lag', $1)", head.encode())
    finally:
        await conn.close()

    async def handler(_conn: asyncpg.Connection, events: list[dict]) -> None:
        now = time.perf_counter()
        for e in events:
            applied.setdefault(e["data"]["touch_id"], now)

    token = issue_token(SECRET, "bench-consumer", "service")
    consumer = FeedConsumer(
        "lag", base, db, schema, handler, token=lambda: token, types=["TouchLogged"]
    )
    answered: dict[str, tuple[float, float]] = {}

    # Requests wait here, not in httpx's pool queue, whose bookkeeping grows with its
    # length and would starve the service of CPU on a small machine.
    in_flight = asyncio.Semaphore(CONCURRENCY * 2)

    async def post_one() -> None:
        sent = time.perf_counter()
        async with in_flight:
            r = await http.post("/touches", json=_touch(random.choice(seeded)))
        assert r.status_code == 201, r.text
        answered[r.json()["id"]] = (sent, time.perf_counter())

    await consumer.start()
    try:
        await asyncio.sleep(0.5)
        count, t0, tasks = int(LAG_RATE * LAG_SECONDS), time.perf_counter(), []
        for i in range(count):
            await asyncio.sleep(max(0.0, t0 + i / LAG_RATE - time.perf_counter()))
            tasks.append(asyncio.create_task(post_one()))
        await asyncio.gather(*tasks)
        answered_rate = count / (time.perf_counter() - t0)
        log(f"{count} touches answered at {answered_rate:.0f}/s (offered {LAG_RATE:.0f}/s)")
        deadline = time.monotonic() + 30
        while len(set(answered) - set(applied)) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    finally:
        await consumer.stop()
    missing = set(answered) - set(applied)
    lags = sorted(max(0.0, applied[t] - answered[t][1]) * 1000 for t in answered if t in applied)
    from_sent = sorted((applied[t] - answered[t][0]) * 1000 for t in answered if t in applied)
    log(f"feed lag p50 {percentile(lags, 50):.0f} ms, p99 {percentile(lags, 99):.0f} ms")
    return {
        "touches": count,
        "offered_per_s": LAG_RATE,
        "answered_per_s": round(answered_rate, 1),
        # False: the machine could not serve the offered rate, so requests queued and the
        # feed (served by the same process) queued with them; the lag then measures that.
        "service_kept_up": answered_rate >= 0.95 * LAG_RATE,
        "missing": len(missing),  # never applied within 30 s: counted as a missed target
        "p50_ms": round(percentile(lags, 50), 1),
        "p99_ms": round(percentile(lags, 99), 1) if not missing else 1e9,
        "max_ms": round(lags[-1], 1) if lags else None,
        "from_request_sent_p99_ms": round(percentile(from_sent, 99), 1),
        "consumer": "shared.feed.FeedConsumer, default idle_poll 50 ms, types=TouchLogged",
    }


def main() -> int:
    """Run against BENCH_DATABASE_URL or an embedded PostgreSQL and print the JSON."""
    with postgres() as url:
        document = asyncio.run(run(url))
    print(json.dumps(document, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
