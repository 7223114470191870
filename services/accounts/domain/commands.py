"""Commands of the three aggregates: imperative, frozen, carrying actor and moment.

Every command has ``actor_id``, ``actor_role`` and ``at`` (from :class:`Command`).
Optional fields default to None (or empty); on updates None means "leave as is".
"""

from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from .actor import Command
from .assessment import DimensionScore
from .enums import BuyingRole, Channel, Grade, RelationshipType, Scope, Tier
from .personal import PersonalDetails

_command = dataclass(frozen=True, slots=True, kw_only=True)

# --- account ----------------------------------------------------------------------------


@_command
class OpenAccount(Command):
    account_id: UUID
    name: str
    region: str
    scope: Scope
    owner_id: str
    industry: str = ""


@_command
class UpdateAccount(Command):
    """Changing ``owner_id`` needs a manager or admin."""

    account_id: UUID
    name: str | None = None
    industry: str | None = None
    region: str | None = None
    scope: Scope | None = None
    owner_id: str | None = None


@_command
class GradeAccount(Command):
    account_id: UUID
    grade: Grade
    reason: str


@_command
class SetAccountTier(Command):
    account_id: UUID
    tier: Tier
    reason: str


@_command
class SetRelationship(Command):
    account_id: UUID
    relationship: RelationshipType
    reason: str | None = None


@_command
class AssessRelationship(Command):
    account_id: UUID
    scores: tuple[DimensionScore, ...]
    notes: str = ""


@_command
class ArchiveAccount(Command):
    account_id: UUID
    reason: str | None = None


# --- contact ----------------------------------------------------------------------------


@_command
class AddContact(Command):
    contact_id: UUID
    account_id: UUID
    name: str
    title: str = ""
    department: str = ""
    personal: PersonalDetails | None = None


@_command
class UpdateContact(Command):
    """``personal`` replaces the personal details whole; an empty value clears them."""

    contact_id: UUID
    name: str | None = None
    title: str | None = None
    department: str | None = None
    personal: PersonalDetails | None = None


@_command
class AssignBuyingRole(Command):
    """Influence 1–5; support −2 (opponent) … +2 (champion). One assignment per
    (role, deal_id); assigning again replaces influence and support."""

    contact_id: UUID
    role: BuyingRole
    influence: int
    support: int
    deal_id: UUID | None = None


@_command
class RemoveBuyingRole(Command):
    contact_id: UUID
    role: BuyingRole
    deal_id: UUID | None = None


@_command
class MarkContactLeft(Command):
    contact_id: UUID


@_command
class ErasePersonalData(Command):
    contact_id: UUID


# --- touch ------------------------------------------------------------------------------


@_command
class LogTouch(Command):
    """A contact touch (客户接触记录); the actor is the person who had it."""

    touch_id: UUID
    account_id: UUID
    contact_ids: tuple[UUID, ...]
    channel: Channel
    occurred_at: datetime
    summary: str
    deal_id: UUID | None = None
    next_step: str | None = None
    next_step_due: date | None = None
