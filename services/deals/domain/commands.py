"""Commands: what an actor asks of a deal. Imperative names, frozen, keyword-only.

Every command carries the deal id, who sends it (``actor_id``, ``actor_role``) and
``at``, the timezone-aware UTC moment stamped by the handler, so the domain never
reads a clock. Optional fields default to None: on ``UpdateDeal`` None means
"leave as it is".
"""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import get_args
from uuid import UUID

from .pipelines import DEFAULT_PIPELINE
from .quotes import QuoteLine
from .values import ForecastCategory, LossCause, PricePosition, Role

_frozen = dataclass(frozen=True, slots=True, kw_only=True)


@_frozen
class Command:
    deal_id: UUID
    actor_id: str
    actor_role: Role
    at: datetime


@_frozen
class OpenDeal(Command):
    account_id: UUID
    title: str
    owner_id: str
    amount: Decimal
    currency: str
    pipeline: str = DEFAULT_PIPELINE
    expected_close_date: date | None = None
    source: str | None = None


@_frozen
class UpdateDeal(Command):
    """None leaves a field as it is; ``next_step=""`` clears the next step and its due
    date. Changing the owner needs a manager or admin."""

    title: str | None = None
    amount: Decimal | None = None
    expected_close_date: date | None = None
    next_step: str | None = None
    next_step_due: date | None = None
    owner_id: str | None = None


@_frozen
class SubmitInitiationReport(Command):
    """Puts the whole 立项报告 (a resubmission replaces it); fields may be left out."""

    project_name: str | None = None
    project_number: str | None = None
    customer_owner_contact_id: UUID | None = None
    estimated_contract_amount: Decimal | None = None
    estimated_gross_margin_pct: Decimal | None = None
    sales_expense_budget: Decimal | None = None
    project_category: str | None = None
    expected_signing_date: date | None = None


@_frozen
class ChangeStage(Command):
    to: str
    reason: str | None = None
    override: bool = False


@_frozen
class OverrideForecast(Command):
    """Assert a forecast category and/or probability (percent) over the stage defaults."""

    reason: str
    category: ForecastCategory | None = None
    probability: Decimal | None = None


@_frozen
class ClearForecastOverride(Command):
    """Drop the assertions: the forecast follows the stage defaults again."""

    reason: str | None = None


@_frozen
class AddCompetitor(Command):
    """Adds a competitor, or updates the one with the same name."""

    name: str
    strengths: str = ""
    weaknesses: str = ""
    price_position: PricePosition = PricePosition.UNKNOWN


@_frozen
class RemoveCompetitor(Command):
    name: str


@_frozen
class IssueQuote(Command):
    quote_id: UUID
    currency: str
    lines: tuple[QuoteLine, ...]
    valid_until: date | None = None


@_frozen
class ReviseQuote(Command):
    """A new version of the quote; ``valid_until`` None keeps the current one."""

    quote_id: UUID
    lines: tuple[QuoteLine, ...]
    valid_until: date | None = None
    reason: str | None = None


@_frozen
class ApproveQuote(Command):
    quote_id: UUID
    note: str | None = None


@_frozen
class RejectQuote(Command):
    quote_id: UUID
    reason: str


@_frozen
class SendQuote(Command):
    quote_id: UUID


@_frozen
class AcceptQuote(Command):
    quote_id: UUID


@_frozen
class WinDeal(Command):
    contract_number: str
    signed_date: date


@_frozen
class LoseDeal(Command):
    cause: LossCause
    summary: str  # the stage summary report (阶段总结报告)
    competitor: str | None = None  # required when cause is lost_to_competitor


@_frozen
class ReopenDeal(Command):
    reason: str


@_frozen
class AddChangeOrder(Command):
    change_order_id: UUID
    description: str
    amount_delta: Decimal


@_frozen
class CloseDeal(Command):
    acceptance_date: date
    summary: str


DealCommand = (
    OpenDeal
    | UpdateDeal
    | SubmitInitiationReport
    | ChangeStage
    | OverrideForecast
    | ClearForecastOverride
    | AddCompetitor
    | RemoveCompetitor
    | IssueQuote
    | ReviseQuote
    | ApproveQuote
    | RejectQuote
    | SendQuote
    | AcceptQuote
    | WinDeal
    | LoseDeal
    | ReopenDeal
    | AddChangeOrder
    | CloseDeal
)
DEAL_COMMANDS: tuple[type[Command], ...] = get_args(DealCommand)
