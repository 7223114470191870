"""Events of the three aggregates: past tense, frozen, self-contained.

The class name is the stored event type (``EVENT_TYPES``). Fields use only
types the generic serializer maps (str, int, bool, Decimal, date, datetime,
UUID, StrEnum, optionals, tuples, nested frozen dataclasses). ``at`` is the
moment of the command. Personal data appears only in ``personal`` on
``ContactAdded`` / ``ContactUpdated``.
"""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import get_args
from uuid import UUID

from .assessment import DimensionScore
from .enums import BuyingRole, Channel, Grade, RelationshipType, Scope, Tier
from .personal import PersonalDetails

_event = dataclass(frozen=True, slots=True, kw_only=True)

# --- account ----------------------------------------------------------------------------


@_event
class AccountOpened:
    account_id: UUID
    name: str
    industry: str
    region: str
    scope: Scope
    owner_id: str
    at: datetime


@_event
class AccountUpdated:
    """Only the changed fields are set; None means unchanged."""

    account_id: UUID
    name: str | None
    industry: str | None
    region: str | None
    scope: Scope | None
    owner_id: str | None
    at: datetime


@_event
class AccountGraded:
    account_id: UUID
    grade: Grade
    previous: Grade | None
    reason: str
    at: datetime


@_event
class AccountTierSet:
    account_id: UUID
    tier: Tier
    previous: Tier | None
    reason: str
    at: datetime


@_event
class RelationshipSet:
    account_id: UUID
    relationship: RelationshipType
    previous: RelationshipType
    reason: str | None
    at: datetime


@_event
class RelationshipAssessed:
    """``overall`` is the mean score, two decimals."""

    account_id: UUID
    scores: tuple[DimensionScore, ...]
    overall: Decimal
    notes: str
    at: datetime


@_event
class AccountArchived:
    account_id: UUID
    reason: str | None
    at: datetime


# --- contact (every event names the account, for projections and other services) --------


@_event
class ContactAdded:
    contact_id: UUID
    account_id: UUID
    name: str
    title: str
    department: str
    personal: PersonalDetails | None
    at: datetime


@_event
class ContactUpdated:
    """Only the changed fields are set; ``personal`` None means unchanged."""

    contact_id: UUID
    account_id: UUID
    name: str | None
    title: str | None
    department: str | None
    personal: PersonalDetails | None
    at: datetime


@_event
class BuyingRoleAssigned:
    contact_id: UUID
    account_id: UUID
    role: BuyingRole
    deal_id: UUID | None
    influence: int
    support: int
    at: datetime


@_event
class BuyingRoleRemoved:
    contact_id: UUID
    account_id: UUID
    role: BuyingRole
    deal_id: UUID | None
    at: datetime


@_event
class ContactLeft:
    contact_id: UUID
    account_id: UUID
    at: datetime


@_event
class PersonalDataErased:
    contact_id: UUID
    account_id: UUID
    at: datetime


# --- touch ------------------------------------------------------------------------------


@_event
class TouchLogged:
    """``logged_by`` is the actor who logged (and had) the touch."""

    touch_id: UUID
    account_id: UUID
    contact_ids: tuple[UUID, ...]
    channel: Channel
    occurred_at: datetime
    summary: str
    deal_id: UUID | None
    next_step: str | None
    next_step_due: date | None
    logged_by: str
    at: datetime


AccountEvent = (
    AccountOpened
    | AccountUpdated
    | AccountGraded
    | AccountTierSet
    | RelationshipSet
    | RelationshipAssessed
    | AccountArchived
)
ContactEvent = (
    ContactAdded
    | ContactUpdated
    | BuyingRoleAssigned
    | BuyingRoleRemoved
    | ContactLeft
    | PersonalDataErased
)
TouchEvent = TouchLogged

EVENT_TYPES: dict[str, type] = {
    cls.__name__: cls for cls in (*get_args(AccountEvent), *get_args(ContactEvent), TouchLogged)
}
