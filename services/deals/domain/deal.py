"""The Deal aggregate's state (folded from events by ``evolve``).

Initial state: ``Deal()`` — ``version == 0``, ``id is None``. Only ``OpenDeal`` is
accepted on it; every other command raises ``DealNotFoundError``.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from uuid import UUID

from .checks import HUNDRED, money
from .errors import QuoteNotFoundError
from .quotes import Quote
from .values import (
    Competitor,
    DealStatus,
    ForecastCategory,
    InitiationReport,
    LossCause,
    QuoteStatus,
    name_key,
)

STREAM_TYPE = "deal"
ENDED = frozenset({DealStatus.LOST, DealStatus.CLOSED})

_frozen = dataclass(frozen=True, slots=True, kw_only=True)


@_frozen
class StageVisit:
    """One stay in a stage; ``left_at`` is None while the deal is still there."""

    stage: str
    entered_at: datetime
    left_at: datetime | None = None

    def duration(self, now: datetime) -> timedelta:
        end = self.left_at if self.left_at is not None else now
        return max(end - self.entered_at, timedelta(0))


@_frozen
class ForecastConflict:
    """An assertion a stage change disagreed with. A pair is None when that field
    is not in conflict."""

    stage: str
    raised_at: datetime
    asserted_category: ForecastCategory | None = None
    suggested_category: ForecastCategory | None = None
    asserted_probability: Decimal | None = None
    suggested_probability: Decimal | None = None

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(
            name
            for name, value in (
                ("category", self.asserted_category),
                ("probability", self.asserted_probability),
            )
            if value is not None
        )


@_frozen
class Forecast:
    """The pipeline's suggestion (stage defaults) and the actor's assertion, side by side;
    an assertion wins."""

    suggested_category: ForecastCategory = ForecastCategory.PIPELINE
    suggested_probability: Decimal = Decimal(0)
    asserted_category: ForecastCategory | None = None
    asserted_probability: Decimal | None = None
    asserted_by: str | None = None
    asserted_reason: str | None = None
    conflict: ForecastConflict | None = None

    @property
    def category(self) -> ForecastCategory:
        return self.asserted_category or self.suggested_category

    @property
    def probability(self) -> Decimal:
        if self.asserted_probability is not None:
            return self.asserted_probability
        return self.suggested_probability

    @property
    def overridden(self) -> bool:
        return self.asserted_category is not None or self.asserted_probability is not None


@_frozen
class ChangeOrder:
    change_order_id: UUID
    description: str
    amount_delta: Decimal
    at: datetime


@_frozen
class Loss:
    stage: str
    cause: LossCause
    competitor: str | None
    summary: str
    at: datetime


@_frozen
class Deal:
    id: UUID | None = None
    version: int = 0
    account_id: UUID | None = None
    title: str = ""
    owner_id: str = ""
    pipeline: str = ""
    source: str | None = None
    status: DealStatus = DealStatus.OPEN
    stage: str = ""
    stage_history: tuple[StageVisit, ...] = ()
    amount: Decimal = Decimal(0)
    currency: str = ""
    forecast: Forecast = Forecast()
    expected_close_date: date | None = None
    next_step: str | None = None
    next_step_due: date | None = None
    initiation_report: InitiationReport | None = None
    competitors: tuple[Competitor, ...] = ()
    quotes: tuple[Quote, ...] = ()
    contract_number: str | None = None
    signed_date: date | None = None
    contract_value: Decimal | None = None  # accepted quote total + change orders
    contract_quote_id: UUID | None = None
    change_orders: tuple[ChangeOrder, ...] = ()
    loss: Loss | None = None
    acceptance_date: date | None = None
    closing_summary: str | None = None
    opened_at: datetime | None = None
    won_at: datetime | None = None
    closed_at: datetime | None = None
    last_activity_at: datetime | None = None  # time of the latest event

    @property
    def exists(self) -> bool:
        return self.id is not None

    @property
    def ended(self) -> bool:
        """Lost or closed: only a manager's reopen changes it."""
        return self.status in ENDED

    @property
    def probability(self) -> Decimal:
        return self.forecast.probability

    @property
    def forecast_category(self) -> ForecastCategory:
        return self.forecast.category

    @property
    def weighted_amount(self) -> Decimal:
        """amount × probability, rounded to cents."""
        return money(self.amount * self.probability / HUNDRED)

    @property
    def accepted_quotes(self) -> tuple[Quote, ...]:
        return tuple(q for q in self.quotes if q.status is QuoteStatus.ACCEPTED)

    def quote(self, quote_id: UUID) -> Quote:
        for q in self.quotes:
            if q.quote_id == quote_id:
                return q
        raise QuoteNotFoundError(f"deal {self.id} has no quote {quote_id}", quote_id=str(quote_id))

    def has_quote(self, quote_id: UUID) -> bool:
        return any(q.quote_id == quote_id for q in self.quotes)

    def competitor(self, name: str) -> Competitor | None:
        key = name_key(name)
        return next((c for c in self.competitors if name_key(c.name) == key), None)
