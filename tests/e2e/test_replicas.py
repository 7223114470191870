"""Two replicas of the deals service on one database: one projector at a time, fast takeover.

Each replica is a real uvicorn process. The deals service gets a probe
projection that records which process applied each event; the leader is
then killed with SIGKILL (no clean shutdown, exactly like a crashed
machine) and the other replica must take over within a few seconds,
applying every later event exactly once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import httpx

from shared.db import create_pool
from shared.embedded_pg import free_port
from shared.eventstore import EventStore, NewEvent, RecordedEvent
from shared.projections import Projection

ROOT = Path(__file__).resolve().parents[2]
SECRET = "replica-secret-" + "r" * 30
TAKEOVER_BOUND = 5.0


class ReplicaProbe(Projection):
    """Writes (event id, process id) per event: who applied what, and only once (primary key)."""

    name = "replica_probe"
    tables = ("replica_probe",)

    async def apply(self, conn: asyncpg.Connection, events: list[RecordedEvent]) -> None:
        await conn.executemany(
            "insert into replica_probe (event_id, pid) values ($1, $2)",
            [(e.event_id, os.getpid()) for e in events],
        )


def create_replica_app():
    """uvicorn factory: the deals service plus the probe projection, configured from the env."""
    from services.deals.app import service_spec
    from shared.http.service import create_service_app

    # Only the probe: the deals read models and the accounts-feed follower stay out.
    spec = dataclasses.replace(
        service_spec(), projections=lambda _settings: [ReplicaProbe()], on_start=[], on_stop=[]
    )
    return create_service_app(spec)


def start_replica(db_url: str, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "DEALTRAIL_ENV": "test",
        "JWT_SECRET": SECRET,
        "MASTER_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        "PROJECTION_POLL_SECONDS": "0.2",
        "LOG_LEVEL": "WARNING",
        "DB_POOL_MAX": "5",
    }
    return subprocess.Popen(
        [
            sys.executable, "-m", "uvicorn", "tests.e2e.test_replicas:create_replica_app",
            "--factory", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
        ],
        cwd=ROOT,
        env=env,
    )  # fmt: skip


async def leading_here(client: httpx.AsyncClient, port: int) -> bool | None:
    """What replica ``port``'s /readyz says about the probe's leader (None: not answering)."""
    try:
        response = await client.get(f"http://127.0.0.1:{port}/readyz")
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    return response.json()["checks"]["projections"]["replica_probe"]["leader_here"]


async def wait_for(predicate, timeout: float, what: str) -> float:
    started = time.monotonic()
    while not await predicate():
        assert time.monotonic() - started < timeout, f"{what} not reached in {timeout}s"
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def append(store: EventStore, n: int) -> None:
    for _ in range(n):
        await store.append(f"deal-{uuid.uuid4().hex[:8]}", "deal", 0, [NewEvent("Probed", {})])


async def test_one_projector_at_a_time_and_takeover_after_a_kill(migrated_db) -> None:
    pool = await create_pool(migrated_db, "deals", min_size=1, max_size=4)
    await pool.execute(
        "create table replica_probe (event_id uuid primary key, pid integer not null)"
    )
    store = EventStore(pool)
    ports = [free_port(), free_port()]
    replicas = [start_replica(migrated_db, port) for port in ports]

    async def applied() -> list[asyncpg.Record]:
        return await pool.fetch("select pid, count(*) as n from replica_probe group by pid")

    try:
        async with httpx.AsyncClient(timeout=2.0) as client:

            async def both_ready() -> bool:
                states = [await leading_here(client, port) for port in ports]
                return None not in states and states.count(True) == 1

            await wait_for(both_ready, 30, "two ready replicas, one leading")
            states = [await leading_here(client, port) for port in ports]
            leader, follower = (0, 1) if states[0] else (1, 0)

            await append(store, 20)
            await wait_for(lambda: _total(pool, 20), 10, "20 events applied")
            assert [(r["pid"], r["n"]) for r in await applied()] == [(replicas[leader].pid, 20)]
            assert await leading_here(client, ports[follower]) is False

            replicas[leader].send_signal(signal.SIGKILL)  # a crash: no clean shutdown
            replicas[leader].wait(10)
            killed_at = time.monotonic()
            await append(store, 20)
            await wait_for(lambda: _total(pool, 40), TAKEOVER_BOUND + 5, "40 events applied")
            took = time.monotonic() - killed_at
            assert took < TAKEOVER_BOUND, f"takeover took {took:.1f}s"
            assert await leading_here(client, ports[follower]) is True
            by_pid = {r["pid"]: r["n"] for r in await applied()}
            assert by_pid == {replicas[leader].pid: 20, replicas[follower].pid: 20}
            assert await pool.fetchval("select count(*) from events") == 40
    finally:
        for replica in replicas:
            if replica.poll() is None:
                replica.terminate()
                try:
                    replica.wait(10)
                except subprocess.TimeoutExpired:
                    replica.kill()
        await pool.close()


async def _total(pool: asyncpg.Pool, expected: int) -> bool:
    return await pool.fetchval("select count(*) from replica_probe") == expected
