"""The Contact aggregate: a person at an account, their buying roles and personal data.

Initial state: ``Contact()`` — ``version == 0``, ``id is None``. Only ``AddContact``
is accepted on it; every other command raises ``NotFoundError``.

- A contact who left stays readable and may still be updated, but takes no new
  or changed buying roles (``ContactLeftError``); roles held when leaving stay
  in the state as history, and views should treat them as inactive.
- ``ErasePersonalData`` (manager/admin) is final: afterwards ``personal`` is None,
  ``personal_erased`` is True and any ``UpdateContact`` carrying personal details
  raises ``PersonalDataErasedError``. Erasing again records nothing.
- Rules that need the contact's account (exists, not archived) are in
  :func:`check_account`, which the handler calls with the loaded account.
"""

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from functools import reduce
from uuid import UUID

from . import checks
from .account import Account, ensure_open
from .actor import require_supervisor, require_writer
from .commands import (
    AddContact,
    AssignBuyingRole,
    ErasePersonalData,
    MarkContactLeft,
    RemoveBuyingRole,
    UpdateContact,
)
from .enums import BuyingRole
from .errors import (
    AlreadyExistsError,
    ContactLeftError,
    InvalidCommandError,
    NotFoundError,
    PersonalDataErasedError,
)
from .events import (
    BuyingRoleAssigned,
    BuyingRoleRemoved,
    ContactAdded,
    ContactEvent,
    ContactLeft,
    ContactUpdated,
    PersonalDataErased,
)
from .personal import PersonalDetails, valid_personal

STREAM_TYPE = "contact"
INFLUENCE_MIN, INFLUENCE_MAX = 1, 5
SUPPORT_MIN, SUPPORT_MAX = -2, 2

ContactCommand = (
    AddContact
    | UpdateContact
    | AssignBuyingRole
    | RemoveBuyingRole
    | MarkContactLeft
    | ErasePersonalData
)

# --- state ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class HeldRole:
    """A buying role held by the contact, for one deal or (deal_id None) in general."""

    role: BuyingRole
    deal_id: UUID | None
    influence: int
    support: int
    assigned_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Contact:
    """The state of one contact stream. ``Contact()`` is the initial state."""

    id: UUID | None = None
    version: int = 0
    account_id: UUID | None = None
    name: str = ""
    title: str = ""
    department: str = ""
    personal: PersonalDetails | None = None
    personal_erased: bool = False
    roles: tuple[HeldRole, ...] = ()
    left: bool = False
    added_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def exists(self) -> bool:
        return self.id is not None

    def role(self, role: BuyingRole, deal_id: UUID | None) -> HeldRole | None:
        return next((r for r in self.roles if (r.role, r.deal_id) == (role, deal_id)), None)


def check_account(account: Account, command: ContactCommand) -> None:
    """Rules that need the contact's account: it exists and is not archived.

    Erasure is exempt: a person's right to erasure outlives the account.
    """
    if isinstance(command, ErasePersonalData):
        return
    ensure_open(account)
    if isinstance(command, AddContact) and command.account_id != account.id:
        raise ValueError(f"contact for account {command.account_id} checked on {account.id}")


# --- decide -----------------------------------------------------------------------------


def decide(state: Contact, command: ContactCommand) -> list[ContactEvent]:
    require_writer(command)
    at = checks.utc(command.at, "at")
    if isinstance(command, AddContact):
        return [_add(state, command, at)]
    _require_existing(state, command)
    cid, aid = command.contact_id, state.account_id
    match command:
        case UpdateContact():
            return _update(state, command, at)
        case AssignBuyingRole(role=role, deal_id=deal_id):
            if state.left:
                raise ContactLeftError(f"contact {cid} left; no new roles", contact_id=str(cid))
            influence = checks.in_range(
                command.influence, INFLUENCE_MIN, INFLUENCE_MAX, "influence"
            )
            support = checks.in_range(command.support, SUPPORT_MIN, SUPPORT_MAX, "support")
            held = state.role(role, deal_id)
            if held is not None and (held.influence, held.support) == (influence, support):
                return []  # the same assignment again says nothing new
            return [
                BuyingRoleAssigned(
                    contact_id=cid,
                    account_id=aid,
                    role=role,
                    deal_id=deal_id,
                    influence=influence,
                    support=support,
                    at=at,
                )
            ]
        case RemoveBuyingRole(role=role, deal_id=deal_id):
            if state.role(role, deal_id) is None:
                raise NotFoundError(f"contact {cid} does not hold {role}", role=str(role))
            return [
                BuyingRoleRemoved(contact_id=cid, account_id=aid, role=role, deal_id=deal_id, at=at)
            ]
        case MarkContactLeft():
            if state.left:
                raise ContactLeftError(f"contact {cid} already left", contact_id=str(cid))
            return [ContactLeft(contact_id=cid, account_id=aid, at=at)]
        case ErasePersonalData():
            require_supervisor(command, "erase personal data")
            if state.personal_erased:
                return []
            return [PersonalDataErased(contact_id=cid, account_id=aid, at=at)]
    raise TypeError(f"not a contact command: {command!r}")


def _require_existing(state: Contact, command: ContactCommand) -> None:
    if not state.exists:
        raise NotFoundError(f"contact {command.contact_id} not found")
    if state.id != command.contact_id:
        raise ValueError(f"command for {command.contact_id} decided on contact {state.id}")


def _add(state: Contact, cmd: AddContact, at: datetime) -> ContactAdded:
    if state.exists:
        raise AlreadyExistsError(f"contact {cmd.contact_id} already exists")
    return ContactAdded(
        contact_id=cmd.contact_id,
        account_id=cmd.account_id,
        name=checks.required_text(cmd.name, "name"),
        title=checks.plain_text(cmd.title, "title"),
        department=checks.plain_text(cmd.department, "department"),
        personal=valid_personal(cmd.personal, at.date()),
        at=at,
    )


def _update(state: Contact, cmd: UpdateContact, at: datetime) -> list[ContactEvent]:
    if all(v is None for v in (cmd.name, cmd.title, cmd.department, cmd.personal)):
        raise InvalidCommandError("nothing to update")
    if cmd.personal is not None and state.personal_erased:
        raise PersonalDataErasedError(
            f"personal data of contact {state.id} was erased", contact_id=str(state.id)
        )
    name = None if cmd.name is None else checks.required_text(cmd.name, "name")
    title = None if cmd.title is None else checks.plain_text(cmd.title, "title")
    department = None if cmd.department is None else checks.plain_text(cmd.department, "department")
    personal = None
    if cmd.personal is not None:
        # An empty value clears the details; it is sent as an empty PersonalDetails
        # because None on the event means "unchanged".
        new = valid_personal(cmd.personal, at.date())
        personal = None if new == state.personal else (new or PersonalDetails())
    event = ContactUpdated(
        contact_id=cmd.contact_id,
        account_id=state.account_id,
        name=checks.changed(name, state.name),
        title=checks.changed(title, state.title),
        department=checks.changed(department, state.department),
        personal=personal,
        at=at,
    )
    unchanged = (event.name, event.title, event.department, event.personal) == (None,) * 4
    return [] if unchanged else [event]


# --- evolve -----------------------------------------------------------------------------


def evolve(state: Contact, event: ContactEvent) -> Contact:
    """Fold one event; every event raises the version by exactly one."""
    return replace(_apply(state, event), version=state.version + 1)


def _apply(state: Contact, event: ContactEvent) -> Contact:
    match event:
        case ContactAdded():
            return Contact(
                id=event.contact_id,
                account_id=event.account_id,
                name=event.name,
                title=event.title,
                department=event.department,
                personal=_stored(event.personal),
                added_at=event.at,
                updated_at=event.at,
            )
        case ContactUpdated():
            personal = state.personal
            # Never let personal data back in after erasure, whatever the log holds.
            if event.personal is not None and not state.personal_erased:
                personal = _stored(event.personal)
            return replace(
                state,
                name=checks.keep(event.name, state.name),
                title=checks.keep(event.title, state.title),
                department=checks.keep(event.department, state.department),
                personal=personal,
                updated_at=event.at,
            )
        case BuyingRoleAssigned(role=role, deal_id=deal_id, at=at):
            held = HeldRole(
                role=role,
                deal_id=deal_id,
                influence=event.influence,
                support=event.support,
                assigned_at=at,
            )
            others = tuple(r for r in state.roles if (r.role, r.deal_id) != (role, deal_id))
            return replace(state, roles=(*others, held), updated_at=at)
        case BuyingRoleRemoved(role=role, deal_id=deal_id, at=at):
            kept = tuple(r for r in state.roles if (r.role, r.deal_id) != (role, deal_id))
            return replace(state, roles=kept, updated_at=at)
        case ContactLeft(at=at):
            return replace(state, left=True, updated_at=at)
        case PersonalDataErased(at=at):
            return replace(state, personal=None, personal_erased=True, updated_at=at)
    raise TypeError(f"not a contact event: {event!r}")


def _stored(personal: PersonalDetails | None) -> PersonalDetails | None:
    return None if personal is None or personal.is_empty else personal


def replay(events: Iterable[ContactEvent], state: Contact | None = None) -> Contact:
    """The state after folding ``events`` (from the initial state by default)."""
    return reduce(evolve, events, state if state is not None else Contact())
