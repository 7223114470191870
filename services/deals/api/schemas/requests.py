"""Request bodies of the deals API. Shapes and types are checked here (422
``validation-error``); the rules of the deal itself are the domain's (``invalid-command``,
``stage-gate-unmet`` …)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import UUID

from pydantic import Field

from services.deals.domain import (
    DEFAULT_PIPELINE,
    ForecastCategory,
    GateRequirement,
    LossCause,
    Pipeline,
    PricePosition,
    QuoteLine,
    Stage,
)
from shared.http.fields import Body

from .fields import Code, Currency, Money, Name, Percent, Quantity, SignedMoney, Text

# --- deals -------------------------------------------------------------------------------


class DealCreate(Body):
    account_id: UUID
    title: Name
    owner_id: Name | None = Field(None, description="default: the caller")
    pipeline: Code = DEFAULT_PIPELINE
    amount: Money
    currency: Currency
    expected_close_date: date | None = None
    source: Name | None = None


class DealUpdate(Body):
    """Only the fields given change; ``next_step: ""`` clears the next step. Changing the
    owner needs a manager or admin."""

    title: Name | None = None
    amount: Money | None = None
    expected_close_date: date | None = None
    next_step: Text | None = None
    next_step_due: date | None = None
    owner_id: Name | None = None


class InitiationReportPut(Body):
    """The 立项报告; every field is needed to enter ``initiation``."""

    project_name: Name | None = None
    project_number: Name | None = None
    customer_owner_contact_id: UUID | None = None
    estimated_contract_amount: Money | None = None
    estimated_gross_margin_pct: Percent | None = None
    sales_expense_budget: Money | None = None
    project_category: Name | None = None
    expected_signing_date: date | None = None


class StageChange(Body):
    to: Code
    reason: Text | None = Field(None, description="required to move back or skip")
    override: bool = Field(False, description="a manager's override to skip stages")


class ForecastOverride(Body):
    category: ForecastCategory | None = None
    probability: Percent | None = Field(None, description="percent, 0–100")
    reason: Text


class CompetitorCreate(Body):
    """Adds a competitor, or updates the one with the same name."""

    name: Name
    strengths: Text = ""
    weaknesses: Text = ""
    price_position: PricePosition = PricePosition.UNKNOWN


class DealWin(Body):
    contract_number: Name
    signed_date: date


class DealLoss(Body):
    cause: LossCause
    competitor: Name | None = Field(None, description="required when lost to a competitor")
    summary: Text = Field(description="the stage summary report (阶段总结报告)")


class DealReopen(Body):
    reason: Text


class ChangeOrderCreate(Body):
    change_order_id: UUID | None = Field(None, description="default: generated")
    description: Text
    amount_delta: SignedMoney


class DealClose(Body):
    acceptance_date: date
    summary: Text


# --- quotes ------------------------------------------------------------------------------


class QuoteLineIn(Body):
    sku: Name
    description: Text = ""
    quantity: Quantity
    unit_price: Money
    discount_pct: Percent = Decimal(0)
    unit_cost: Money

    def to_domain(self) -> QuoteLine:
        return QuoteLine(
            sku=self.sku,
            description=self.description,
            quantity=Decimal(self.quantity),
            unit_price=Decimal(self.unit_price),
            discount_pct=Decimal(self.discount_pct),
            unit_cost=Decimal(self.unit_cost),
        )


Lines = list[QuoteLineIn]


class QuoteCreate(Body):
    quote_id: UUID | None = Field(None, description="default: generated")
    currency: Currency
    lines: Lines = Field(min_length=1, max_length=500)
    valid_until: date | None = None


class QuoteRevision(Body):
    lines: Lines = Field(min_length=1, max_length=500)
    valid_until: date | None = Field(None, description="default: unchanged")
    reason: Text | None = None


class QuoteApproval(Body):
    note: Text | None = None


class QuoteRejection(Body):
    reason: Text


# --- pipelines ---------------------------------------------------------------------------


class StageIn(Body):
    code: Code
    name: Name
    name_zh: Name = ""
    probability: Percent = Field(description="default win probability, percent")
    forecast_category: ForecastCategory
    stall_limit_days: int | None = Field(None, ge=1, le=3650, description="null: never stalls")
    gates: list[GateRequirement] = Field(default_factory=list, max_length=10)


class PipelineCreate(Body):
    """A whole pipeline definition (PUT replaces it the same way)."""

    code: Code
    name: Name
    name_zh: Name = ""
    stages: list[StageIn] = Field(min_length=2, max_length=50)
    won_stage: Code
    max_discount_pct: Percent
    min_margin_pct: Percent

    def to_domain(self) -> Pipeline:
        return Pipeline(
            code=self.code,
            name=self.name,
            name_zh=self.name_zh,
            stages=tuple(
                Stage(
                    code=s.code,
                    name=s.name,
                    name_zh=s.name_zh,
                    probability=Decimal(s.probability),
                    forecast_category=s.forecast_category,
                    stall_limit_days=s.stall_limit_days,
                    gates=tuple(dict.fromkeys(s.gates)),
                )
                for s in self.stages
            ),
            won_stage=self.won_stage,
            max_discount_pct=Decimal(self.max_discount_pct),
            min_margin_pct=Decimal(self.min_margin_pct),
        )
