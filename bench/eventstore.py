"""Event store benchmark: append, feed read, rebuild and wake-up latency in one run.

Every figure comes from the same PostgreSQL in the same run, next to the
physical limit it is compared with:

* append rate through :meth:`EventStore.append` (one event per append, i.e.
  per transaction) at concurrency 1, 8 and 32, without and with an
  idempotency record, against a plain asyncpg single-row INSERT of the same
  row into a bare table that has nothing but a primary key, both on one
  dedicated connection per task (and, at 32, both through the service pool);
* feed read rate of :meth:`EventStore.read_all` (pages of 1,000) through
  200,000 events, against a bare keyset scan of the same table;
* rebuild rate of a batched projection via :func:`shared.projections.rebuild`;
* append-to-projection wake-up latency through a :class:`ProjectionRunner`
  woken by the :class:`CoalescingNotifier`, at a steady 1,000 appends/s.

Run it with ``python -m bench eventstore`` (or ``make bench`` for all).
``BENCH_SLICE`` (seconds per measured append slice, default 1.5) shortens or
lengthens the run.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from typing import Any

from bench.common import (
    fresh_schema,
    log,
    server_info,
    target,
)
from bench.eventstore_append import CONCURRENCIES, bench_append
from bench.eventstore_reads import WAKEUP_TARGET_MS, bench_feed_and_rebuild, bench_wakeup

NAME = "eventstore"

TARGETS = {
    "append_c32_ratio": 0.7,
    "append_c32_idempotent_ratio": 0.6,
    "read_all_ratio": 0.8,
    "rebuild_events_per_s": 50_000,
    "wakeup_p99_ms": WAKEUP_TARGET_MS,
}


async def run(url: str) -> dict[str, Any]:
    started = time.perf_counter()
    info = await server_info(url)
    log(f"PostgreSQL {info['postgres']['server_version']}, {info['cpus']} CPUs")
    async with fresh_schema(url, "bench_append") as schema:
        append = await bench_append(url, schema)
    async with fresh_schema(url, "bench_feed") as schema:
        feed, rebuilt = await bench_feed_and_rebuild(url, schema)
    async with fresh_schema(url, "bench_wake") as schema:
        wakeup = await bench_wakeup(url, schema)

    c32 = append["concurrency"][str(max(CONCURRENCIES))]
    targets = {
        "append_c32_ratio": target(c32["ratio"], TARGETS["append_c32_ratio"]),
        "append_c32_idempotent_ratio": target(
            c32["ratio_idempotent"], TARGETS["append_c32_idempotent_ratio"]
        ),
        "read_all_ratio": target(feed["ratio"], TARGETS["read_all_ratio"]),
        "rebuild_events_per_s": target(rebuilt["events_per_s"], TARGETS["rebuild_events_per_s"]),
        "wakeup_p99_ms": target(wakeup["p99_ms"], TARGETS["wakeup_p99_ms"], at_least=False),
    }
    return {
        "benchmark": NAME,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "environment": info,
        "append": append,
        "feed": feed,
        "rebuild": rebuilt,
        "wakeup": wakeup,
        "targets": targets,
        "all_targets_pass": all(t["pass"] for t in targets.values()),
        "load_average_1m_at_end": round(os.getloadavg()[0], 2),
        "elapsed_s": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    from bench.__main__ import main as bench_main

    raise SystemExit(bench_main([NAME]))


if __name__ == "__main__":
    main()
