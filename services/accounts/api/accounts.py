"""/accounts: open, change, grade, tier, relationship, assess, archive; read, list, history."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID, uuid4

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from services.accounts import handlers
from services.accounts.domain.account import Account
from services.accounts.domain.commands import (
    ArchiveAccount,
    AssessRelationship,
    GradeAccount,
    OpenAccount,
    SetAccountTier,
    SetRelationship,
    UpdateAccount,
)
from services.accounts.domain.enums import Grade, Tier
from services.accounts.domain.errors import NotFoundError
from services.accounts.projections import directory
from shared.aggregates import Repository
from shared.eventstore import EventStore
from shared.http.auth import PrincipalDep, WriterDep
from shared.http.commands import CommandContext, Reply, command_context, execute
from shared.http.conditional import etag
from shared.http.pagination import page

from . import paging
from .deps import PoolDep, StoreDep, actor
from .present import account_public, history_page
from .schemas import (
    AccountArchive,
    AccountCreate,
    AccountPage,
    AccountPublic,
    AccountUpdate,
    AssessmentCreate,
    GradeUpdate,
    HistoryPage,
    Instant,
    RelationshipUpdate,
    SafeText,
    TierUpdate,
)

router = APIRouter(tags=["accounts"])

ACCOUNT_REPLY = {"model": AccountPublic, "description": "The account after the command"}
Version = Annotated[int | None, Query(ge=1, le=2**31 - 1, description="read as of this version")]
AsOf = Annotated[Instant | None, Query(description="read as of this moment (RFC 3339)")]
Limit = Annotated[int, Query(ge=1, le=200)]


def _answer(state: Account, version: int) -> Reply:
    return Reply(200, account_public(state, version), json_ready=True)


def _created(state: Account, version: int) -> Reply:
    return Reply(
        201, account_public(state, version), {"Location": f"/accounts/{state.id}"}, json_ready=True
    )


@router.post("/accounts", status_code=201, response_model=None, responses={201: ACCOUNT_REPLY})
async def open_account(
    body: AccountCreate, request: Request, principal: WriterDep, store: StoreDep
) -> JSONResponse:
    """Open an account. Another account of the same name in the region → 409 naming it."""
    ctx = await command_context(request, principal, body, require_if_match=False)
    account_id = uuid4()
    command = OpenAccount(
        account_id=account_id,
        name=body.name,
        region=body.region,
        industry=body.industry,
        scope=body.scope,
        owner_id=body.owner_id or principal.sub,
        **actor(principal, store),
    )
    return await handlers.account_command(store, ctx, account_id, command, _created)


@router.get("/accounts", response_model=AccountPage)
async def list_accounts(
    request: Request,
    principal: PrincipalDep,
    pool: PoolDep,
    grade: Grade | None = None,
    tier: Tier | None = None,
    owner_id: Annotated[SafeText | None, Query(max_length=200)] = None,
    region: Annotated[SafeText | None, Query(max_length=200)] = None,
    q: Annotated[SafeText | None, Query(max_length=200, description="text in the name")] = None,
    status: Literal["active", "archived", "all"] = "active",
    cursor: str | None = None,
    limit: Limit = 50,
) -> dict:
    """The account directory in name order (from a projection: may trail by up to ~50 ms)."""
    where = directory.DirectoryFilter(
        grade=grade,
        tier=tier,
        owner_id=owner_id,
        region=region,
        text=q,
        archived={"active": False, "archived": True, "all": None}[status],
    )
    after = paging.decode(cursor, (paging.text, paging.uuid))
    items, last = await directory.search(pool, where, after, limit)
    return page(items, request, paging.encode(last))


@router.get("/accounts/{account_id}", response_model=AccountPublic)
async def read_account(
    account_id: UUID,
    principal: PrincipalDep,
    store: StoreDep,
    response: Response,
    as_of: AsOf = None,
    version: Version = None,
) -> dict:
    """The account now, or as it was at ``as_of`` / ``version``. ETag: its version."""
    loaded = await handlers.read(
        store, handlers.ACCOUNT, str(account_id), version=version, as_of=as_of
    )
    response.headers["ETag"] = etag(loaded.version)
    return account_public(loaded.state, loaded.version)


@router.patch("/accounts/{account_id}", response_model=None, responses={200: ACCOUNT_REPLY})
async def update_account(
    account_id: UUID, body: AccountUpdate, request: Request, principal: WriterDep, store: StoreDep
) -> JSONResponse:
    ctx = await command_context(request, principal, body)
    fields = body.model_dump(exclude_unset=True)
    command = UpdateAccount(account_id=account_id, **fields, **actor(principal, store))
    return await handlers.account_command(store, ctx, account_id, command, _answer)


@router.post("/accounts/{account_id}/grade", response_model=None, responses={200: ACCOUNT_REPLY})
async def grade_account(
    account_id: UUID, body: GradeUpdate, request: Request, principal: WriterDep, store: StoreDep
) -> JSONResponse:
    ctx = await command_context(request, principal, body, reason=body.reason)
    command = GradeAccount(
        account_id=account_id, grade=body.grade, reason=body.reason, **actor(principal, store)
    )
    return await _execute(store, account_id, ctx, command)


@router.post("/accounts/{account_id}/tier", response_model=None, responses={200: ACCOUNT_REPLY})
async def set_tier(
    account_id: UUID, body: TierUpdate, request: Request, principal: WriterDep, store: StoreDep
) -> JSONResponse:
    ctx = await command_context(request, principal, body, reason=body.reason)
    command = SetAccountTier(
        account_id=account_id, tier=body.tier, reason=body.reason, **actor(principal, store)
    )
    return await _execute(store, account_id, ctx, command)


@router.post(
    "/accounts/{account_id}/relationship", response_model=None, responses={200: ACCOUNT_REPLY}
)
async def set_relationship(
    account_id: UUID,
    body: RelationshipUpdate,
    request: Request,
    principal: WriterDep,
    store: StoreDep,
) -> JSONResponse:
    ctx = await command_context(request, principal, body, reason=body.reason)
    command = SetRelationship(
        account_id=account_id,
        relationship=body.relationship,
        reason=body.reason,
        **actor(principal, store),
    )
    return await _execute(store, account_id, ctx, command)


@router.post(
    "/accounts/{account_id}/assessment", response_model=None, responses={200: ACCOUNT_REPLY}
)
async def assess_relationship(
    account_id: UUID,
    body: AssessmentCreate,
    request: Request,
    principal: WriterDep,
    store: StoreDep,
) -> JSONResponse:
    """Score the relationship (客户关系评估表): dimensions 1–5, and notes."""
    ctx = await command_context(request, principal, body)
    command = AssessRelationship(
        account_id=account_id,
        scores=tuple(line.to_domain() for line in body.scores),
        notes=body.notes,
        **actor(principal, store),
    )
    return await _execute(store, account_id, ctx, command)


@router.post("/accounts/{account_id}/archive", response_model=None, responses={200: ACCOUNT_REPLY})
async def archive_account(
    account_id: UUID,
    request: Request,
    principal: WriterDep,
    store: StoreDep,
    body: AccountArchive | None = None,
) -> JSONResponse:
    """Archive for good (no unarchive); the name becomes free in its region again."""
    reason = body.reason if body else None
    ctx = await command_context(request, principal, body, reason=reason)
    command = ArchiveAccount(account_id=account_id, reason=reason, **actor(principal, store))
    return await handlers.account_command(store, ctx, account_id, command, _answer)


@router.get("/accounts/{account_id}/history", response_model=HistoryPage)
async def account_history(
    account_id: UUID,
    request: Request,
    principal: PrincipalDep,
    store: StoreDep,
    cursor: str | None = None,
    limit: Limit = 100,
) -> dict:
    """Every event of the account, oldest first: who, in which role, why, and when."""
    events = await handlers.history(store, handlers.ACCOUNT.stream_type, str(account_id))
    return history_page(events, request, principal, cursor, limit)


async def _execute(
    store: EventStore, account_id: UUID, ctx: CommandContext, command: object
) -> JSONResponse:
    repo = Repository(store, handlers.ACCOUNT)
    return await execute(
        repo,
        str(account_id),
        ctx,
        command,
        _answer,
        not_found=lambda: NotFoundError(f"account {account_id} not found"),
    )
