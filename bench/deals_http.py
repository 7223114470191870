"""Deals HTTP benchmark: full commands against a bare insert, and the pipeline view at 100k.

All figures come from one PostgreSQL in one run, each server being uvicorn with two
workers (app factory) on a free port, driven by ``wrk`` with a Lua script (an
httpx client would saturate first):

* **bare** — a FastAPI + asyncpg endpoint that parses a JSON body and inserts one row,
  through the services' own pool (:func:`shared.db.create_pool`);
* **commands** — concurrent clients each opening a key-account deal and moving it
  through the pipeline (initiation report, stage moves, quote issued / sent /
  accepted, win): ten commands a deal, each with a bearer token, ``If-Match`` and
  an ``Idempotency-Key`` (auth, load, decide, append with idempotency record);
  the service's projections and fan-out run in its two workers as they do in a
  single replica (one worker leads each projection). A command round ends once
  every projection has caught up: the CPU it spent doing so counts towards the
  commands, and the next bare round does not share the machine with it;
* **floor** — the deals service's own request layer with one idempotent append and
  nothing else (:mod:`bench.deals_floor`, no projections): what a command costs
  before deciding, folding, its reply and the read models;
* **pipeline view** — ``GET /views/pipeline`` (and with ``as_of``) once 100,000
  deals, appended straight into the event store in batches, have been projected.

Targets (2 cores): commands/s ≥ 0.4 × bare with p99 ≤ 50 ms; view p95 ≤ 20 ms.
``wrk`` is installed with apt-get when missing (skipped with a message if that
fails). ``BENCH_DEALS_SECONDS`` (default 8) sets each load's length, ``BENCH_DEALS_ROUNDS``
(default 2) the alternating bare / floor / commands rounds,
``BENCH_DEALS_CONNECTIONS`` (default 16) the concurrency, ``BENCH_DEALS_VIEW_DEALS``
the deals loaded for the view. Run: ``python -m bench deals_http`` or
``python -m bench.deals_http``.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from bench.common import log, postgres, server_info, target
from bench.deals_floor import FLOOR_LUA
from bench.deals_load import load_deals
from bench.deals_servers import (
    BARE_LUA,
    BARE_TABLE,
    SECRET,
    caught_up,
    deals_env,
    fresh_database,
    settled,
    uvicorn,
)
from bench.wrk import ensure_wrk, postmaster_pid, wrk
from shared.http.auth import issue_token

NAME = "deals_http"
SECONDS = float(os.environ.get("BENCH_DEALS_SECONDS", "8"))
ROUNDS = int(os.environ.get("BENCH_DEALS_ROUNDS", "2"))
CONNECTIONS = int(os.environ.get("BENCH_DEALS_CONNECTIONS", "16"))
VIEW_DEALS = int(os.environ.get("BENCH_DEALS_VIEW_DEALS", "100000"))
ACCOUNTS = 1000
DEALS_APP = os.environ.get("BENCH_DEALS_APP", "services.deals.app:create_app")  # a factory
ACCOUNT_ROW = """
insert into deals.account_directory values ($1, $2, 'east', 'u-1', $3, null, false, now())
"""

# --- wrk ---------------------------------------------------------------------------------

GET_LUA = """
wrk.headers["Authorization"] = "Bearer @TOKEN@"
"""
# Each thread keeps its deals: ``ready`` holds deals waiting for their next command,
# ``inflight`` the ones whose command is on the wire (one per deal at a time).
FLOW_LUA = """
local token, accounts = "@TOKEN@", {@ACCOUNTS@}
local report = '{"project_name":"Bench","project_number":"B-1","customer_owner_contact_id":'
  .. '"00000000-0000-0000-0000-000000000001","estimated_contract_amount":"1000000.00",'
  .. '"estimated_gross_margin_pct":"30","sales_expense_budget":"10000.00",'
  .. '"project_category":"software","expected_signing_date":"2027-06-30"}'
local steps = {
  {"PUT", "/initiation-report", report},
  {"POST", "/stage", '{"to":"initiation"}'},
  {"POST", "/stage", '{"to":"proposal"}'},
  {"POST", "/quotes", nil},
  {"POST", "/stage", '{"to":"tender"}'},
  {"POST", "/quotes/QID/send", nil},
  {"POST", "/stage", '{"to":"negotiation"}'},
  {"POST", "/quotes/QID/accept", nil},
  {"POST", "/win", '{"contract_number":"C-1","signed_date":"2027-01-31"}'},
}
local ready, inflight, counter = {}, {}, 0

local function hex(n)
  local s = ""
  for _ = 1, n do s = s .. string.format("%x", math.random(0, 15)) end
  return s
end
local function uuid4()
  return hex(8) .. "-" .. hex(4) .. "-4" .. hex(3) .. "-a" .. hex(3) .. "-" .. hex(12)
end

local thread_ids = 0
function setup(thread) thread_ids = thread_ids + 1; thread:set("tid", thread_ids) end
function init(args) math.randomseed(os.time() * 1000 + (tid or 0)) end

request = function()
  counter = counter + 1
  local headers = {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json",
                   ["Idempotency-Key"] = "k-" .. hex(12) .. "-" .. counter}
  local d = table.remove(ready)
  if d == nil then
    local body = '{"account_id":"' .. accounts[math.random(#accounts)]
      .. '","title":"Bench deal","amount":"1000000.00","currency":"CNY"}'
    return wrk.format("POST", "/deals", headers, body)
  end
  inflight[d.id] = d
  local step = steps[d.step]
  local path = "/deals/" .. d.id .. string.gsub(step[2], "QID", d.qid)
  local body = step[3]
  if step[2] == "/quotes" then
    body = '{"quote_id":"' .. d.qid .. '","currency":"CNY","lines":[{"sku":"ERP","quantity":"10",'
      .. '"unit_price":"100000.00","discount_pct":"5","unit_cost":"50000.00"}]}'
  end
  headers["If-Match"] = '"' .. d.v .. '"'
  return wrk.format(step[1], path, headers, body)
end

response = function(status, headers, body)
  if status ~= 200 and status ~= 201 then return end
  local id = string.match(body, '"id":"([%x%-]+)"') or string.match(body, '"deal_id":"([%x%-]+)"')
  local etag = headers["etag"] or headers["ETag"]
  if id == nil or etag == nil then return end
  local d = inflight[id]
  if d == nil then
    d = {id = id, step = 1, qid = uuid4()}
  else
    inflight[id] = nil
    d.step = d.step + 1
  end
  d.v = tonumber(string.match(etag, "%d+"))
  if d.step <= #steps then table.insert(ready, d) end
end
"""


# --- the run -----------------------------------------------------------------------------


async def run(url: str) -> dict[str, Any]:
    binary = ensure_wrk()
    if binary is None:
        message = "skipped: wrk is not installed and apt-get install -y wrk failed"
        log(message)
        return {"benchmark": NAME, "skipped": message}
    info = await server_info(url)
    load = {"connections": CONNECTIONS, "seconds": SECONDS, "rounds": ROUNDS, "wrk_threads": 2,
            "uvicorn_workers": 2}  # fmt: skip
    load_args = {"connections": CONNECTIONS, "seconds": SECONDS}
    async with fresh_database(url) as db_url:
        conn = await asyncpg.connect(db_url)
        await conn.execute(BARE_TABLE)
        accounts = [uuid.uuid4() for _ in range(ACCOUNTS)]
        await conn.executemany(
            ACCOUNT_ROW,
            [(a, f"Account {i}", "ABCD"[i % 4]) for i, a in enumerate(accounts)],
        )
        await conn.close()

        token = issue_token(SECRET, "bench-rep", "rep")
        flow = FLOW_LUA.replace("@TOKEN@", token).replace(
            "@ACCOUNTS@", ",".join(f'"{a}"' for a in accounts[:200])
        )
        bare_env = {"BENCH_BARE_URL": db_url}
        floor_env = {**deals_env(db_url), "PROJECTIONS_ENABLED": "false"}
        postgres_pid = await postmaster_pid(db_url)
        with (
            uvicorn("bench.deals_servers:bare_app", bare_env) as (bare_url, bare_pid),
            uvicorn("bench.deals_floor:floor_app", floor_env) as (floor_url, floor_pid),
            uvicorn(DEALS_APP, deals_env(db_url)) as (deals_url, deals_pid),
        ):
            bare, floor, commands = [], [], []
            for n in range(1, ROUNDS + 1):
                # Alternating rounds: a load change on the machine hits every side.
                log(f"round {n}: bare insert, floor, deal commands ({CONNECTIONS} connections)")
                cpu = tuple(p for p in (bare_pid, postgres_pid) if p)
                bare.append(wrk(binary, bare_url + "/bare", BARE_LUA, **load_args, cpu_of=cpu))
                cpu = tuple(p for p in (floor_pid, postgres_pid) if p)
                script = FLOOR_LUA.replace("@TOKEN@", token)
                floor.append(wrk(binary, floor_url, script, **load_args, cpu_of=cpu))
                cpu = tuple(p for p in (deals_pid, postgres_pid) if p)
                settle = functools.partial(settled, deals_url)
                commands.append(
                    wrk(binary, deals_url, flow, **load_args, cpu_of=cpu, settle=settle)
                )
            async with httpx.AsyncClient(base_url=deals_url) as http:
                probe = await http.get("/views/pipeline", headers=_bearer("manager"))
        if probe.status_code == 200:
            view = await bench_view(binary, db_url, accounts)
        else:
            view = {"skipped": f"GET /views/pipeline answered {probe.status_code}"}
            log(f"view benchmark {view['skipped']}")
    bare_rate = sum(r["per_second"] for r in bare) / len(bare)
    floor_rate = sum(r["per_second"] for r in floor) / len(floor)
    command_rate = sum(r["per_second"] for r in commands) / len(commands)
    cpu = _cpu_ratio(bare, floor, commands)
    p99 = max(r["p99_ms"] for r in commands)
    return {
        "benchmark": NAME,
        "server": info,
        "load": load,
        "bare_insert": {"per_second": round(bare_rate, 1), "rounds": bare},
        "floor": {
            "per_second": round(floor_rate, 1),
            "vs_bare": round(floor_rate / bare_rate, 3) if bare_rate else None,
            "rounds": floor,
        },
        # CPU (server + PostgreSQL) per request does not depend on the machine's other
        # load; bare ÷ command is the throughput ratio to expect on an idle machine.
        "cpu_per_request": cpu,
        "commands": {
            "per_second": round(command_rate, 1),
            "p99_ms": p99,
            "commands_per_deal": 10,
            "rounds": commands,
        },
        "targets": {
            "commands_vs_bare": target(command_rate / bare_rate if bare_rate else 0.0, 0.4),
            "commands_p99_ms": target(p99, 50, at_least=False),
            **view.pop("targets", {}),
        },
        "view_pipeline": view,
    }


def _cpu_ratio(bare: list[dict], floor: list[dict], commands: list[dict]) -> dict[str, Any]:
    def mean(rounds: list[dict]) -> float | None:
        values = [r["cpu_ms_per_request"] for r in rounds if "cpu_ms_per_request" in r]
        return sum(values) / len(values) if values else None

    b, f, c = mean(bare), mean(floor), mean(commands)
    if not b or not f or not c:
        return {"skipped": "process CPU not readable"}
    return {"bare_ms": round(b, 3), "floor_ms": round(f, 3), "command_ms": round(c, 3),
            "bare_over_command": round(b / c, 3)}  # fmt: skip


async def bench_view(binary: str, db_url: str, accounts: list[uuid.UUID]) -> dict[str, Any]:
    """The pipeline view's latency once VIEW_DEALS deals are projected: loaded while no
    service runs, then projected by a fresh one before its first request."""
    if VIEW_DEALS <= 0:
        return {"skipped": "BENCH_DEALS_VIEW_DEALS=0"}
    log(f"loading {VIEW_DEALS} deals into the event store")
    loaded = await load_deals(db_url, accounts, VIEW_DEALS)
    log(f"loaded in {loaded:.1f}s; projecting")
    with uvicorn(DEALS_APP, deals_env(db_url)) as (url, _pid):
        projected = await caught_up(url)
        log(f"projected in {projected:.1f}s")
        figures = await view_latency(binary, url, _bearer("manager")["Authorization"][7:])
    return {"deals": VIEW_DEALS, "load_seconds": round(loaded, 1),
            "catch_up_seconds": round(projected, 1), **figures}  # fmt: skip


def _bearer(role: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + issue_token(SECRET, f"bench-{role}", role)}


async def view_latency(binary: str, url: str, token: str) -> dict[str, Any]:
    as_of = (datetime.now(UTC) - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    script = GET_LUA.replace("@TOKEN@", token)
    now = wrk(binary, url + "/views/pipeline", script, connections=2, seconds=5)
    then = wrk(binary, url + f"/views/pipeline?as_of={as_of}", script, connections=2, seconds=5)
    return {
        "now": now,
        "as_of": {"as_of": as_of, **then},
        "targets": {
            "view_p95_ms": target(now["p95_ms"], 20, at_least=False),
            "view_as_of_p95_ms": target(then["p95_ms"], 20, at_least=False),
        },
    }


def main() -> None:
    with postgres() as url:
        print(json.dumps(asyncio.run(run(url)), indent=2), flush=True)


if __name__ == "__main__":
    main()
