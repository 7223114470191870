"""/pipelines: the presets and admin-defined pipelines; admins define and revise them.

An admin-defined pipeline is a stream of its own (ETag: its version). Once deals use
it, a revision may add stages and change their figures but never remove, reorder or
re-purpose the existing ones (409 ``pipeline-in-use``). Presets are read-only.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from services.deals import catalog, handlers
from services.deals.domain import PRESETS
from services.deals.errors import PipelineNotFoundError
from services.deals.projections.pipelines import custom
from shared.http.auth import PrincipalDep
from shared.http.commands import Reply
from shared.http.conditional import etag
from shared.http.problems import Problem

from . import present
from .deps import AdminDep, PoolDep, StoreDep, context
from .schemas import Code, PipelineCreate, PipelineList, PipelinePublic

router = APIRouter(tags=["pipelines"])

PIPELINE_REPLY = {"model": PipelinePublic, "description": "The pipeline; ETag: its version"}


def _reply(status: int) -> handlers.Respond:
    def respond(state: catalog.PipelineRecord, version: int) -> Reply:
        assert state.definition is not None
        headers = {"Location": f"/pipelines/{state.definition.code}"} if status == 201 else {}
        body = present.pipeline_public(state.definition, version)
        return Reply(status, body, headers, json_ready=True)

    return respond


@router.get("/pipelines", response_model=PipelineList)
async def list_pipelines(principal: PrincipalDep, pool: PoolDep) -> dict:
    """The presets (``key-account`` is the default), then admin-defined pipelines by code."""
    presets = [present.pipeline_public(p, None) for p in PRESETS.values()]
    defined = [present.pipeline_public(p, v) for p, v in await custom(pool)]
    return {"items": presets + defined}


@router.get("/pipelines/{code}", response_model=PipelinePublic)
async def read_pipeline(code: Code, principal: PrincipalDep, store: StoreDep, response: Response):
    if code in PRESETS:
        return present.pipeline_public(PRESETS[code], None)
    loaded = await handlers.load_pipeline(store, code)
    if loaded.state.definition is None:
        raise PipelineNotFoundError(f"no pipeline {code!r}", pipeline=code)
    response.headers["ETag"] = etag(loaded.version)
    return present.pipeline_public(loaded.state.definition, loaded.version)


@router.post("/pipelines", status_code=201, response_model=None, responses={201: PIPELINE_REPLY})
async def define_pipeline(
    body: PipelineCreate, request: Request, principal: AdminDep, store: StoreDep
) -> JSONResponse:
    """Define another pipeline (admin): stages with probabilities, stall limits and gates,
    the won stage, and the quote limits."""
    ctx = await context(request, principal, body, create=True)
    command = catalog.DefinePipeline(pipeline=body.to_domain(), **handlers.actor_fields(ctx, store))
    return await handlers.define_pipeline(store, ctx, command, _reply(201))


@router.put("/pipelines/{code}", response_model=None, responses={200: PIPELINE_REPLY})
async def revise_pipeline(
    code: Code,
    body: PipelineCreate,
    request: Request,
    principal: AdminDep,
    store: StoreDep,
    pool: PoolDep,
) -> JSONResponse:
    """Replace an admin-defined pipeline's definition (If-Match: its version)."""
    if body.code != code:
        raise Problem(422, "code-mismatch", "Code mismatch", "The body's code must be the path's.")
    ctx = await context(request, principal, body)
    return await handlers.revise_pipeline(store, pool, ctx, body.to_domain(), _reply(200))
