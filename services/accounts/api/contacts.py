"""Contacts and the buying center: add, change, roles, left, erasure; read, list, history.

Personal details are sealed with the contact's own key before they are stored,
and command responses never carry them (a response may be kept as an
idempotency record); GET /contacts/{id} shows them while the key exists.
"""

from __future__ import annotations

from typing import Annotated
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from services.accounts import handlers
from services.accounts.domain.commands import (
    AddContact,
    AssignBuyingRole,
    ErasePersonalData,
    MarkContactLeft,
    RemoveBuyingRole,
    UpdateContact,
)
from services.accounts.domain.contact import Contact
from services.accounts.domain.enums import BuyingRole
from services.accounts.domain.errors import NotFoundError
from services.accounts.projections import contacts
from services.accounts.sealing import fingerprint_body
from shared.http.auth import Principal, PrincipalDep, WriterDep
from shared.http.commands import Reply, command_context
from shared.http.conditional import check_idempotency_key, etag
from shared.http.pagination import page

from . import paging
from .deps import KeysDep, PoolDep, StoreDep, SupervisorDep, actor
from .present import READS_PERSONAL, contact_public, history_page
from .schemas import (
    BuyingRoleCreate,
    ContactCreate,
    ContactPage,
    ContactPublic,
    ContactUpdate,
    HistoryPage,
    Instant,
)

router = APIRouter(tags=["contacts"])

CONTACT_REPLY = {"model": ContactPublic, "description": "The contact (personal details withheld)"}
Version = Annotated[int | None, Query(ge=1, le=2**31 - 1, description="read as of this version")]
AsOf = Annotated[Instant | None, Query(description="read as of this moment (RFC 3339)")]
Limit = Annotated[int, Query(ge=1, le=200)]


def _answer(state: Contact, version: int) -> Reply:
    return Reply(200, contact_public(state, version), json_ready=True)


def _created(state: Contact, version: int) -> Reply:
    return Reply(
        201, contact_public(state, version), {"Location": f"/contacts/{state.id}"}, json_ready=True
    )


def _new_contact_id(request: Request, principal: Principal) -> UUID:
    """A retry (same Idempotency-Key) names the same contact, so it finds the same data
    key and its fingerprint matches; without a key every request is a new contact."""
    key = check_idempotency_key(request.headers.get("idempotency-key"))
    return uuid5(NAMESPACE_URL, f"dealtrail:contact:{principal.sub}:{key}") if key else uuid4()


@router.post(
    "/accounts/{account_id}/contacts",
    status_code=201,
    response_model=None,
    responses={201: CONTACT_REPLY},
)
async def add_contact(
    account_id: UUID,
    body: ContactCreate,
    request: Request,
    principal: WriterDep,
    store: StoreDep,
    keys: KeysDep,
) -> JSONResponse:
    """Add a contact; personal details (email, phone, birthday …) are encrypted at rest."""
    contact_id = _new_contact_id(request, principal)
    key = await handlers.writing_key(store, keys, contact_id, new=True) if body.personal else None
    fingerprinted = fingerprint_body(body.model_dump(mode="json"), key)
    ctx = await command_context(request, principal, fingerprinted, require_if_match=False)
    command = AddContact(
        contact_id=contact_id,
        account_id=account_id,
        name=body.name,
        title=body.title,
        department=body.department,
        personal=body.personal and body.personal.to_domain(),
        **actor(principal, store),
    )
    return await handlers.add_contact(store, ctx, command, key, _created)


@router.get("/accounts/{account_id}/contacts", response_model=ContactPage)
async def list_contacts(
    account_id: UUID,
    request: Request,
    principal: PrincipalDep,
    store: StoreDep,
    pool: PoolDep,
    cursor: str | None = None,
    limit: Limit = 50,
) -> dict:
    """The account's contacts and buying roles in name order (no personal details)."""
    after = paging.decode(cursor, (paging.text, paging.uuid))
    items, last = await contacts.of_account(pool, account_id, after, limit)
    if not items and after is None and not await store.stream_version(str(account_id)):
        raise NotFoundError(f"account {account_id} not found")
    return page(items, request, paging.encode(last))


@router.get("/contacts/{contact_id}", response_model=ContactPublic)
async def read_contact(
    contact_id: UUID,
    principal: PrincipalDep,
    store: StoreDep,
    keys: KeysDep,
    response: Response,
    as_of: AsOf = None,
    version: Version = None,
) -> dict:
    """The contact now or at ``as_of`` / ``version``; personal details decrypted for reps,
    managers and admins while they exist. ETag: its version."""
    loaded, erased = await handlers.read_contact(
        store, keys, contact_id, version=version, as_of=as_of
    )
    response.headers["ETag"] = etag(loaded.version)
    show = principal.role in READS_PERSONAL
    return contact_public(loaded.state, loaded.version, show_personal=show, erased=erased)


@router.patch("/contacts/{contact_id}", response_model=None, responses={200: CONTACT_REPLY})
async def update_contact(
    contact_id: UUID,
    body: ContactUpdate,
    request: Request,
    principal: WriterDep,
    store: StoreDep,
    keys: KeysDep,
) -> JSONResponse:
    """Change name, title, department; ``personal`` replaces the details whole."""
    personal = body.personal
    key = (
        None if personal is None else await handlers.writing_key(store, keys, contact_id, new=False)
    )
    fingerprinted = fingerprint_body(body.model_dump(mode="json"), key)
    ctx = await command_context(request, principal, fingerprinted)
    command = UpdateContact(
        contact_id=contact_id,
        name=body.name,
        title=body.title,
        department=body.department,
        personal=personal and personal.to_domain(),
        **actor(principal, store),
    )
    return await handlers.contact_command(store, ctx, contact_id, command, _answer, key=key)


@router.post("/contacts/{contact_id}/roles", response_model=None, responses={200: CONTACT_REPLY})
async def assign_role(
    contact_id: UUID,
    body: BuyingRoleCreate,
    request: Request,
    principal: WriterDep,
    store: StoreDep,
) -> JSONResponse:
    """Assign a buying role (for one deal, or in general); again replaces it."""
    ctx = await command_context(request, principal, body)
    command = AssignBuyingRole(
        contact_id=contact_id,
        role=body.role,
        deal_id=body.deal_id,
        influence=body.influence,
        support=body.support,
        **actor(principal, store),
    )
    return await handlers.contact_command(store, ctx, contact_id, command, _answer)


@router.delete(
    "/contacts/{contact_id}/roles/{role}", response_model=None, responses={200: CONTACT_REPLY}
)
async def remove_role(
    contact_id: UUID,
    role: BuyingRole,
    request: Request,
    principal: WriterDep,
    store: StoreDep,
    deal_id: UUID | None = None,
) -> JSONResponse:
    ctx = await command_context(request, principal, {"deal_id": deal_id})
    command = RemoveBuyingRole(
        contact_id=contact_id, role=role, deal_id=deal_id, **actor(principal, store)
    )
    return await handlers.contact_command(store, ctx, contact_id, command, _answer)


@router.post("/contacts/{contact_id}/left", response_model=None, responses={200: CONTACT_REPLY})
async def mark_left(
    contact_id: UUID, request: Request, principal: WriterDep, store: StoreDep
) -> JSONResponse:
    """The contact left the company: still readable, takes no new roles."""
    ctx = await command_context(request, principal, None)
    command = MarkContactLeft(contact_id=contact_id, **actor(principal, store))
    return await handlers.contact_command(store, ctx, contact_id, command, _answer)


@router.delete(
    "/contacts/{contact_id}/personal-data", response_model=None, responses={200: CONTACT_REPLY}
)
async def erase_personal_data(
    contact_id: UUID, request: Request, principal: SupervisorDep, store: StoreDep, keys: KeysDep
) -> JSONResponse:
    """Crypto-shredding (manager/admin): the contact's key is destroyed and the erasure
    recorded; the encrypted details left in the immutable log can never be read again."""
    ctx = await command_context(request, principal, None)
    command = ErasePersonalData(contact_id=contact_id, **actor(principal, store))
    return await handlers.erase_personal_data(store, keys, ctx, command, _answer)


@router.get("/contacts/{contact_id}/history", response_model=HistoryPage)
async def contact_history(
    contact_id: UUID,
    request: Request,
    principal: PrincipalDep,
    store: StoreDep,
    keys: KeysDep,
    cursor: str | None = None,
    limit: Limit = 100,
) -> dict:
    """Every event of the contact; personal details decrypted for managers and admins,
    ``"[encrypted]"`` for others, ``"[erased]"`` for everyone once erased."""
    events = await handlers.history(store, "contact", str(contact_id))
    key = await keys.key_for(str(contact_id))
    return history_page(events, request, principal, cursor, limit, key)
