"""Deal events as the deals service records them, for tests of what follows its feed."""

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from services.deals.domain.events import (
    ChangeOrderAdded,
    DealClosed,
    DealLost,
    DealOpened,
    DealReopened,
    DealWon,
    Event,
)
from services.deals.domain.values import DealStatus, ForecastCategory, LossCause
from shared.serde import to_data

AT = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
SIGNED = date(2026, 5, 1)


def item(version: int, event: Event) -> dict[str, Any]:
    """A feed item as the deals service's ``GET /events`` shows it (the fields we read)."""
    return {
        "type": type(event).__name__,
        "stream_id": str(event.deal_id),
        "version": version,
        "data": to_data(event),
    }


def opened(deal_id: UUID, account_id: UUID, currency: str = "CNY") -> DealOpened:
    return DealOpened(
        deal_id=deal_id, account_id=account_id, title="ERP", owner_id="rep-1",
        pipeline="key-account", stage="prospecting", amount=Decimal("1000000.00"),
        currency=currency, probability=Decimal(10), forecast_category=ForecastCategory.PIPELINE,
        expected_close_date=None, source=None, at=AT,
    )  # fmt: skip


def won(deal_id: UUID, value: str | Decimal) -> DealWon:
    return DealWon(
        deal_id=deal_id, contract_number="C-1", signed_date=SIGNED,
        contract_value=Decimal(value), quote_id=None, from_stage="negotiation",
        stage="implementation", probability=Decimal(100),
        forecast_category=ForecastCategory.CLOSED, at=AT,
    )  # fmt: skip


def change_order(deal_id: UUID, delta: str | Decimal, after: str | Decimal) -> ChangeOrderAdded:
    return ChangeOrderAdded(
        deal_id=deal_id, change_order_id=uuid4(), description="scope",
        amount_delta=Decimal(delta), contract_value=Decimal(after), at=AT,
    )  # fmt: skip


def closed(deal_id: UUID) -> DealClosed:
    return DealClosed(
        deal_id=deal_id, stage="implementation", acceptance_date=SIGNED, summary="ok", at=AT
    )


def lost(deal_id: UUID) -> DealLost:
    return DealLost(
        deal_id=deal_id, stage="tender", cause=LossCause.BID_LOST_PRICE, competitor=None,
        summary="price", at=AT,
    )  # fmt: skip


def reopened(deal_id: UUID, status: DealStatus) -> DealReopened:
    return DealReopened(
        deal_id=deal_id, stage="implementation", status=status, reason="again",
        probability=Decimal(100), forecast_category=ForecastCategory.CLOSED, at=AT,
    )  # fmt: skip
