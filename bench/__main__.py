"""``python -m bench [NAME ...] [--check]``: run benchmarks and print their JSON.

With no names every module in :data:`MODULES` runs, one after the other, each
against a PostgreSQL of its own. ``--check`` exits with status 1 when a target
is missed (by default only an error does).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import sys
from typing import Any

from bench.common import log, postgres
from shared.logging import configure_logging

# Add a module here (bench/<name>.py exposing ``async def run(url) -> dict``) to
# have ``make bench`` run it, e.g. "accounts_http", "deals_http", "fanout".
MODULES: list[str] = ["eventstore", "accounts_http", "deals_http", "fanout"]


def run_module(name: str) -> dict[str, Any]:
    """Run one benchmark module against a fresh PostgreSQL and return its document."""
    module = importlib.import_module(f"bench.{name}")
    log(f"benchmark {name}")
    with postgres() as url:
        return asyncio.run(module.run(url))


def _missed(document: Any) -> list[str]:
    """Paths of every target with ``"pass": false`` in a result document."""
    out: list[str] = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            if node.get("pass") is False:
                out.append(path)
            for key, value in node.items():
                walk(value, f"{path}.{key}" if path else key)

    walk(document, "")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default: {MODULES})")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    configure_logging("WARNING", json=False)  # to stderr: stdout carries only the JSON
    names = args.names or MODULES
    unknown = [n for n in names if n not in MODULES]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; known: {MODULES}")
    missed: list[str] = []
    try:
        for name in names:
            document = run_module(name)
            print(json.dumps(document, indent=2), flush=True)
            missed += [f"{name}:{path}" for path in _missed(document)]
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    if missed:
        log("targets missed: " + ", ".join(missed))
        if args.check:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
