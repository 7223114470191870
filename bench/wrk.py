"""``wrk`` as the load driver: installed when missing, run with a Lua script, its
figures (rate, latency percentiles, errors) read back as JSON, and the CPU that
the measured process trees spent per request."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import asyncpg

from bench.common import log

REPORT_LUA = """
done = function(summary, latency, requests)
  io.write(string.format('\\nWRK {"requests":%d,"duration_us":%d,"non_2xx":%d,"socket_errors":%d,'
    .. '"p50_us":%d,"p95_us":%d,"p99_us":%d,"max_us":%d}\\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
"""


def ensure_wrk() -> str | None:
    """The wrk binary, installed from Debian's packages when missing; None if impossible."""
    found = shutil.which("wrk")
    if found:
        return found
    log("wrk missing: apt-get update && apt-get install -y wrk")
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "wrk"]):
            subprocess.run(cmd, check=True, env=env, capture_output=True, timeout=300)
    return shutil.which("wrk")


def wrk(
    binary: str,
    url: str,
    script: str,
    *,
    connections: int,
    seconds: float,
    cpu_of: tuple[int, ...] = (),
    settle: Callable[[], float] | None = None,
) -> dict:
    """Run wrk with ``script`` (plus the JSON report) and return its figures; with
    ``cpu_of`` (process ids) also the CPU those process trees spent per request;
    with ``settle``, called after the load, the work left over counts as well (its
    seconds are reported as ``settle_seconds``)."""
    cpu_before = cpu_seconds(cpu_of)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script + REPORT_LUA)
    try:
        cmd = [
            binary,
            "-t2",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "5s",
            "-s",
            f.name,
        ]
        out = subprocess.run([*cmd, url], capture_output=True, text=True, timeout=seconds + 60)
    finally:
        os.unlink(f.name)
    settled = settle() if settle is not None else None
    line = next((x for x in out.stdout.splitlines() if x.startswith("WRK ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed: {out.stdout[-500:]} {out.stderr[-500:]}")
    raw = json.loads(line[4:])
    cpu_ms = (cpu_seconds(cpu_of) - cpu_before) * 1000 / max(raw["requests"], 1)
    rate = raw["requests"] / (raw["duration_us"] / 1e6)
    ms = {k.replace("_us", "_ms"): round(v / 1000, 2) for k, v in raw.items() if k[0] in "pm"}
    figures = {"requests": raw["requests"], "per_second": round(rate, 1), **ms,
               "non_2xx": raw["non_2xx"], "socket_errors": raw["socket_errors"]}  # fmt: skip
    if cpu_of:
        figures["cpu_ms_per_request"] = round(cpu_ms, 3)
    if settled is not None:
        figures["settle_seconds"] = round(settled, 2)
    return figures


def cpu_seconds(roots: tuple[int, ...]) -> float:
    """User + system CPU of the processes ``roots`` and their descendants (Linux /proc).
    Unlike a rate, it does not depend on what else the machine is running."""
    if not roots:
        return 0.0
    parent, spent = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parent[int(entry)], spent[int(entry)] = int(fields[1]), int(fields[11]) + int(fields[12])
    tree, grown = set(roots), True
    while grown:
        children = {pid for pid, ppid in parent.items() if ppid in tree} - tree
        tree |= children
        grown = bool(children)
    return sum(spent.get(pid, 0) for pid in tree) / os.sysconf("SC_CLK_TCK")


async def postmaster_pid(db_url: str) -> int | None:
    """The local PostgreSQL server's process id (from postmaster.pid), if readable."""
    conn = await asyncpg.connect(db_url)
    try:
        data_dir = await conn.fetchval("select current_setting('data_directory')")
    except asyncpg.PostgresError:
        return None
    finally:
        await conn.close()
    return _pid_in(data_dir)


def _pid_in(data_dir: str) -> int | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        return int(Path(data_dir, "postmaster.pid").read_text().split()[0])
    return None
