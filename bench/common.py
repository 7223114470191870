"""Helpers shared by the benchmarks: a PostgreSQL to run against, schemas, timing."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import platform
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import asyncpg

from shared.embedded_pg import EmbeddedPostgres, free_port, quote_ident
from shared.eventstore.schema import install

URL_ENV = "BENCH_DATABASE_URL"

_started = time.perf_counter()


def log(message: str) -> None:
    """Progress on stderr, so stdout stays pure JSON."""
    print(f"[bench {time.perf_counter() - _started:7.1f}s] {message}", file=sys.stderr, flush=True)


def _terminate(signum: int, _frame: Any) -> None:
    # SIGTERM/SIGHUP unwind like Ctrl-C, so every ``finally`` (server stop) runs.
    raise KeyboardInterrupt(f"signal {signum}")


@contextlib.contextmanager
def postgres() -> Iterator[str]:
    """URL of the server to benchmark: ``BENCH_DATABASE_URL``, or an embedded one.

    The embedded server lives in a temporary folder and is stopped and removed
    on the way out, whatever the way out is (error, Ctrl-C, SIGTERM).
    """
    previous = {s: signal.signal(s, _terminate) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        url = os.environ.get(URL_ENV)
        if url:
            log(f"using {URL_ENV}")
            yield url
            return
        folder = Path(tempfile.mkdtemp(prefix="dealtrail-bench-"))
        server = EmbeddedPostgres(folder, port=free_port())
        try:
            log(f"starting embedded PostgreSQL in {folder} on port {server.port}")
            server.start()
            yield server.url()
        finally:
            log("stopping embedded PostgreSQL")
            server.stop()
            shutil.rmtree(folder, ignore_errors=True)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


@contextlib.asynccontextmanager
async def fresh_schema(url: str, prefix: str = "bench") -> AsyncIterator[str]:
    """A new schema holding an empty event store; dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(url)
    try:
        await install(conn, name)
    finally:
        await conn.close()
    try:
        yield name
    finally:
        with contextlib.suppress(Exception):
            conn = await asyncpg.connect(url)
            try:
                await conn.execute("drop schema if exists " + quote_ident(name) + " cascade")
            finally:
                await conn.close()


@contextlib.asynccontextmanager
async def fresh_database(
    url: str, prefix: str, migrate: Callable[[str], Awaitable[Any]] | None = None
) -> AsyncIterator[str]:
    """A new database on ``url``'s server, migrated by ``migrate`` (given its URL);
    yields its URL and drops it afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("create database " + quote_ident(name))
    finally:
        await conn.close()
    db_url = url.rsplit("/", 1)[0] + "/" + name
    try:
        if migrate is not None:
            await migrate(db_url)
        yield db_url
    finally:
        conn = await asyncpg.connect(url)
        try:
            with contextlib.suppress(asyncpg.PostgresError):
                await conn.execute("drop database if exists " + quote_ident(name) + " with (force)")
        finally:
            await conn.close()


async def server_info(url: str) -> dict[str, Any]:
    """What the figures were measured on."""
    conn = await asyncpg.connect(url)
    try:
        settings = {
            name: await conn.fetchval("select current_setting($1)", name)
            for name in (
                "server_version",
                "fsync",
                "synchronous_commit",
                "shared_buffers",
                "max_connections",
            )
        }
    finally:
        await conn.close()
    load = os.getloadavg()[0]
    if load > 0.5:
        log(f"warning: load average {load:.1f} before the run; other work skews the figures")
    return {
        "postgres": settings,
        "load_average_1m_at_start": round(load, 2),
        "embedded": not os.environ.get(URL_ENV),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "machine": platform.machine(),
    }


async def rate_for(
    ops: Sequence[Callable[[], Awaitable[Any]]], *, duration: float, warmup: float
) -> dict:
    """Operations per second of one task per op, each calling its op in a loop.

    Only operations that complete inside the measured window, after ``warmup``
    seconds, count.
    """
    done = [0]
    stop = asyncio.Event()

    async def worker(op: Callable[[], Awaitable[Any]]) -> None:
        while not stop.is_set():
            await op()
            done[0] += 1

    tasks = [asyncio.create_task(worker(op)) for op in ops]
    try:
        await asyncio.sleep(warmup)
        _check(tasks)
        n0, t0 = done[0], time.perf_counter()
        await asyncio.sleep(duration)
        n1, t1 = done[0], time.perf_counter()
        _check(tasks)
    finally:
        stop.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        raise errors[0]
    return {"ops": n1 - n0, "seconds": t1 - t0}


def _check(tasks: list[asyncio.Task]) -> None:
    for t in tasks:
        if t.done() and t.exception() is not None:
            raise t.exception()


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def target(measured: float, threshold: float, *, at_least: bool = True) -> dict[str, Any]:
    """A target next to its figure, with a pass/fail verdict."""
    ok = measured >= threshold if at_least else measured <= threshold
    return {
        "measured": round(measured, 3),
        "target": (">= " if at_least else "<= ") + str(threshold),
        "pass": bool(ok),
    }


async def checkpoint(runner: asyncpg.Pool | asyncpg.Connection) -> None:
    """Start a measurement from a clean slate, as pgbench does (needs superuser)."""
    with contextlib.suppress(asyncpg.PostgresError):
        await runner.execute("checkpoint")
