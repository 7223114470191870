"""The floor under a deal command: the deals service's request layer and one append.

``floor_app`` is the deals service itself (its middleware, routes, auth, settings)
with one more route, ``POST /bench/floor/{deal_id}``, that does what every deal
command does before any domain work and nothing else: the bearer token and role,
the JSON body validated into a model, the command context (``If-Match``,
``Idempotency-Key``, request fingerprint), and one event appended with its
idempotency record; it answers a small JSON. Run without projections, it measures
what the stack costs a command, so the benchmark can show how much of a full
command's time is left for deciding, folding, the reply and the read models.
"""

from __future__ import annotations

from uuid import UUID, uuid4

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from services.deals.api.deps import StoreDep, context
from services.deals.api.schemas import StageChange
from services.deals.app import service_spec
from shared.eventstore import IdempotencyRecord, NewEvent
from shared.http.auth import WriterDep
from shared.http.service import create_service_app

# Each request a new stream with If-Match "0"; the key is new each time too.
FLOOR_LUA = """
local token = "@TOKEN@"
local counter = 0
local thread_ids = 0
function setup(thread) thread_ids = thread_ids + 1; thread:set("tid", thread_ids) end
function init(args) math.randomseed(os.time() * 1000 + (tid or 0)) end
request = function()
  counter = counter + 1
  local key = string.format("f-%x-%x-%d", math.random(0, 0x7fffffff), math.random(0, 0x7fffffff),
                            counter)
  local headers = {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json",
                   ["Idempotency-Key"] = key, ["If-Match"] = '"0"'}
  return wrk.format("POST", "/bench/floor/00000000-0000-4000-8000-000000000001", headers,
                    '{"to":"initiation"}')
end
"""

router = APIRouter()


@router.post("/bench/floor/{deal_id}", include_in_schema=False)
async def floor(
    deal_id: UUID, body: StageChange, request: Request, principal: WriterDep, store: StoreDep
) -> JSONResponse:
    ctx = await context(request, principal, body)
    stream_id = f"floor-{uuid4()}"
    reply = {"stream_id": stream_id, "deal_id": str(deal_id), "to": body.to, "version": 1}
    headers = {"ETag": '"1"'}
    record = IdempotencyRecord(
        principal.sub,
        ctx.idempotency_key or stream_id,
        ctx.fingerprint,
        200,
        {"body": reply, "headers": headers},
    )
    event = NewEvent("FloorTouched", {"deal_id": str(deal_id), "to": body.to})
    await store.append(
        stream_id, "bench-floor", ctx.if_match or 0, [event], ctx.metadata(), idempotency=record
    )
    return JSONResponse(reply, headers=headers)


def floor_app() -> FastAPI:
    """The deals service with the floor route (run it with PROJECTIONS_ENABLED=false)."""
    spec = service_spec(follow_accounts=False)
    spec.routers.insert(0, router)
    return create_service_app(spec)
