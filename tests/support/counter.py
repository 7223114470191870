"""A small example aggregate and service used to test the shared plumbing."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from shared.aggregates import Aggregate, EventCodec, Repository
from shared.http.auth import PrincipalDep, WriterDep
from shared.http.commands import Reply, command_context, execute
from shared.http.conditional import etag
from shared.http.problems import Problem
from shared.http.service import ServiceSpec, StoreDep


@dataclass(frozen=True)
class Counter:
    id: str
    total: int = 0
    closed: bool = False
    opened: bool = False


@dataclass(frozen=True)
class Open:
    by: str


@dataclass(frozen=True)
class Add:
    n: int


@dataclass(frozen=True)
class Close:
    pass


@dataclass(frozen=True)
class Opened:
    by: str


@dataclass(frozen=True)
class Added:
    n: int


@dataclass(frozen=True)
class Closed:
    pass


class CounterClosedError(Exception):
    pass


def decide(state: Counter, command) -> list:
    match command:
        case Open(by=by):
            return [Opened(by)]
        case _ if state.closed:
            raise CounterClosedError(state.id)
        case Add(n=0):
            return []
        case Add(n=n):
            return [Added(n)]
        case Close():
            return [Closed()]
    raise TypeError(command)


def evolve(state: Counter, event) -> Counter:
    match event:
        case Opened():
            return replace(state, opened=True)
        case Added(n=n):
            return replace(state, total=state.total + n)
        case Closed():
            return replace(state, closed=True)
    return state


COUNTER = Aggregate(
    stream_type="counter",
    initial=lambda stream_id: Counter(stream_id),
    decide=decide,
    evolve=evolve,
    codec=EventCodec({"Opened": Opened, "Added": Added, "Closed": Closed}),
)


class AddBody(BaseModel):
    n: Annotated[int, Field(ge=0, le=1000)]


def _public(state: Counter) -> dict:
    return {"id": state.id, "total": state.total, "closed": state.closed}


router = APIRouter()


@router.post("/counters/{counter_id}", status_code=201)
async def open_counter(counter_id: str, request: Request, principal: WriterDep, store: StoreDep):
    ctx = await command_context(request, principal, None, require_if_match=False)
    return await execute(
        Repository(store, COUNTER),
        counter_id,
        ctx,
        Open(principal.sub),
        lambda s, v: Reply(201, _public(s), {"Location": f"/counters/{counter_id}"}),
        create=True,
    )


@router.post("/counters/{counter_id}/add")
async def add(
    counter_id: str, body: AddBody, request: Request, principal: WriterDep, store: StoreDep
):
    ctx = await command_context(request, principal, body.model_dump())
    return await execute(
        Repository(store, COUNTER),
        counter_id,
        ctx,
        Add(body.n),
        lambda s, v: Reply(200, _public(s)),
    )


@router.post("/counters/{counter_id}/close")
async def close(counter_id: str, request: Request, principal: WriterDep, store: StoreDep):
    ctx = await command_context(request, principal, None)
    return await execute(
        Repository(store, COUNTER), counter_id, ctx, Close(), lambda s, v: Reply(200, _public(s))
    )


@router.get("/counters/{counter_id}")
async def read(counter_id: str, principal: PrincipalDep, store: StoreDep):
    from fastapi.responses import JSONResponse

    loaded = await Repository(store, COUNTER).load(counter_id)
    if loaded.version == 0:
        raise Problem(404, "counter-not-found", "No such counter")
    return JSONResponse(_public(loaded.state), headers={"ETag": etag(loaded.version)})


async def _closed(request, exc: CounterClosedError):
    from shared.http.problems import problem_response

    return problem_response(request, 409, "counter-closed", "The counter is closed")


def counter_spec(schema: str) -> ServiceSpec:
    return ServiceSpec(
        name="counter",
        schema=schema,
        title="counter",
        description="example",
        routers=[router],
        exception_handlers={CounterClosedError: _closed},
    )
