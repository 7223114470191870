"""Events: what happened to a deal. Past-tense names, frozen, keyword-only.

The class name is the stored event type (``EVENT_TYPES``). Field types stay within
what the generic serializer maps by type hint: str, int, bool, Decimal, date,
datetime, UUID, StrEnum, ``X | None`` and tuples of those or of flat frozen
dataclasses. Events record the figures the pipeline gave at the time (stage
probability, quote approval) so folding never needs the pipeline definition.
"""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import get_args
from uuid import UUID

from .quotes import QuoteLine
from .values import DealStatus, ForecastCategory, LossCause, PricePosition, StageMove

_frozen = dataclass(frozen=True, slots=True, kw_only=True)


@_frozen
class Event:
    deal_id: UUID
    at: datetime


@_frozen
class DealOpened(Event):
    account_id: UUID
    title: str
    owner_id: str
    pipeline: str
    stage: str
    amount: Decimal
    currency: str
    probability: Decimal
    forecast_category: ForecastCategory
    expected_close_date: date | None
    source: str | None


@_frozen
class DealUpdated(Event):
    """Only the changed fields are set; None means unchanged."""

    title: str | None
    amount: Decimal | None
    expected_close_date: date | None


@_frozen
class NextStepSet(Event):
    """The action plan's next step; both None when it was cleared."""

    next_step: str | None
    due: date | None


@_frozen
class DealOwnerChanged(Event):
    previous_owner_id: str
    owner_id: str


@_frozen
class InitiationReportSubmitted(Event):
    project_name: str | None
    project_number: str | None
    customer_owner_contact_id: UUID | None
    estimated_contract_amount: Decimal | None
    estimated_gross_margin_pct: Decimal | None
    sales_expense_budget: Decimal | None
    project_category: str | None
    expected_signing_date: date | None
    complete: bool


@_frozen
class StageChanged(Event):
    from_stage: str
    to_stage: str
    move: StageMove
    skipped: tuple[str, ...]  # stages passed over by a SKIP
    reason: str | None
    override: bool
    probability: Decimal  # the new stage's suggested values
    forecast_category: ForecastCategory


@_frozen
class ForecastConflictRaised(Event):
    """A stage change moved a suggestion away from an asserted value; the assertion
    stands until someone re-asserts or clears it. Pairs are None when not in conflict."""

    stage: str
    asserted_category: ForecastCategory | None
    suggested_category: ForecastCategory | None
    asserted_probability: Decimal | None
    suggested_probability: Decimal | None


@_frozen
class ForecastOverridden(Event):
    category: ForecastCategory | None
    probability: Decimal | None
    reason: str
    by: str


@_frozen
class ForecastOverrideCleared(Event):
    reason: str | None


@_frozen
class CompetitorAdded(Event):
    name: str
    strengths: str
    weaknesses: str
    price_position: PricePosition


@_frozen
class CompetitorUpdated(Event):
    name: str
    strengths: str
    weaknesses: str
    price_position: PricePosition


@_frozen
class CompetitorRemoved(Event):
    name: str


@_frozen
class QuoteIssued(Event):
    quote_id: UUID
    version: int
    currency: str
    lines: tuple[QuoteLine, ...]
    valid_until: date | None
    total: Decimal
    cost: Decimal
    gross_margin: Decimal
    gross_margin_pct: Decimal | None
    approval_required: bool
    approval_reasons: tuple[str, ...]


@_frozen
class QuoteRevised(Event):
    quote_id: UUID
    version: int
    lines: tuple[QuoteLine, ...]
    valid_until: date | None
    total: Decimal
    cost: Decimal
    gross_margin: Decimal
    gross_margin_pct: Decimal | None
    approval_required: bool
    approval_reasons: tuple[str, ...]
    reason: str | None


@_frozen
class QuoteApproved(Event):
    quote_id: UUID
    version: int
    by: str
    note: str | None


@_frozen
class QuoteRejected(Event):
    quote_id: UUID
    version: int
    by: str
    reason: str


@_frozen
class QuoteSent(Event):
    quote_id: UUID
    version: int


@_frozen
class QuoteAccepted(Event):
    quote_id: UUID
    version: int
    superseded_quote_ids: tuple[UUID, ...]  # quotes accepted before, no longer


@_frozen
class DealWon(Event):
    contract_number: str
    signed_date: date
    contract_value: Decimal
    quote_id: UUID | None  # the accepted quote the value comes from
    from_stage: str
    stage: str
    probability: Decimal
    forecast_category: ForecastCategory


@_frozen
class DealLost(Event):
    stage: str
    cause: LossCause
    competitor: str | None
    summary: str


@_frozen
class DealReopened(Event):
    stage: str
    status: DealStatus  # open (was lost) or won (was closed)
    reason: str
    probability: Decimal
    forecast_category: ForecastCategory


@_frozen
class ChangeOrderAdded(Event):
    change_order_id: UUID
    description: str
    amount_delta: Decimal
    contract_value: Decimal  # after the change


@_frozen
class DealClosed(Event):
    stage: str
    acceptance_date: date
    summary: str


DealEvent = (
    DealOpened
    | DealUpdated
    | NextStepSet
    | DealOwnerChanged
    | InitiationReportSubmitted
    | StageChanged
    | ForecastConflictRaised
    | ForecastOverridden
    | ForecastOverrideCleared
    | CompetitorAdded
    | CompetitorUpdated
    | CompetitorRemoved
    | QuoteIssued
    | QuoteRevised
    | QuoteApproved
    | QuoteRejected
    | QuoteSent
    | QuoteAccepted
    | DealWon
    | DealLost
    | DealReopened
    | ChangeOrderAdded
    | DealClosed
)
DEAL_EVENTS: tuple[type[Event], ...] = get_args(DealEvent)
EVENT_TYPES: dict[str, type[Event]] = {cls.__name__: cls for cls in DEAL_EVENTS}
