"""Response bodies of the deals API (documentation and a contract the tests check).

Money and other decimals are strings, timestamps RFC 3339 UTC (``…Z``), dates ISO 8601.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

Dec = str  # a decimal as a string, e.g. "1250000.00"


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StageVisitPublic(Out):
    stage: str
    entered_at: str
    left_at: str | None


class ConflictPublic(Out):
    stage: str
    raised_at: str
    asserted_category: str | None
    suggested_category: str | None
    asserted_probability: Dec | None
    suggested_probability: Dec | None


class ForecastPublic(Out):
    category: str
    probability: Dec
    suggested_category: str
    suggested_probability: Dec
    asserted_category: str | None
    asserted_probability: Dec | None
    asserted_by: str | None
    asserted_reason: str | None
    overridden: bool
    conflict: ConflictPublic | None


class InitiationReportPublic(Out):
    project_name: str | None
    project_number: str | None
    customer_owner_contact_id: str | None
    estimated_contract_amount: Dec | None
    estimated_gross_margin_pct: Dec | None
    sales_expense_budget: Dec | None
    project_category: str | None
    expected_signing_date: str | None


class CompetitorPublic(Out):
    name: str
    strengths: str
    weaknesses: str
    price_position: str


class QuoteLinePublic(Out):
    sku: str
    description: str
    quantity: Dec
    unit_price: Dec
    discount_pct: Dec
    unit_cost: Dec
    net: Dec
    cost: Dec
    margin: Dec
    margin_pct: Dec | None


class TotalsPublic(Out):
    total: Dec
    cost: Dec
    gross_margin: Dec
    gross_margin_pct: Dec | None


class QuoteVersionPublic(Out):
    version: int
    status: str
    lines: list[QuoteLinePublic]
    valid_until: str | None
    totals: TotalsPublic
    approval_required: bool
    approval_reasons: list[str]
    issued_at: str
    reason: str | None
    decided_by: str | None
    decision_note: str | None
    sent_at: str | None
    accepted_at: str | None


class QuotePublic(Out):
    deal_id: str
    quote_id: str
    currency: str
    status: str
    latest_version: int
    total: Dec
    gross_margin_pct: Dec | None
    versions: list[QuoteVersionPublic]


class QuoteList(Out):
    items: list[QuotePublic]


class FieldChangePublic(Out):
    field: str
    before: str | None
    after: str | None


class LineDiffPublic(Out):
    sku: str
    change: str
    fields: list[FieldChangePublic]


class QuoteDiffPublic(Out):
    quote_id: str
    from_version: int
    to_version: int
    lines: list[LineDiffPublic]
    totals: list[FieldChangePublic]


class ChangeOrderPublic(Out):
    change_order_id: str
    description: str
    amount_delta: Dec
    at: str


class LossPublic(Out):
    stage: str
    cause: str
    competitor: str | None
    summary: str
    at: str


class DealPublic(Out):
    """A deal's full state (now, or as of a moment / version). ``ETag`` = ``version``."""

    id: str
    version: int
    account_id: str
    title: str
    owner_id: str
    pipeline: str
    source: str | None
    status: str
    stage: str
    days_in_stage: int
    days_by_stage: dict[str, int]
    stage_history: list[StageVisitPublic]
    amount: Dec
    currency: str
    probability: Dec
    forecast_category: str
    weighted_amount: Dec
    forecast: ForecastPublic
    expected_close_date: str | None
    next_step: str | None
    next_step_due: str | None
    initiation_report: InitiationReportPublic | None
    initiation_report_missing: list[str]
    competitors: list[CompetitorPublic]
    quotes: list[QuotePublic]
    contract_number: str | None
    signed_date: str | None
    contract_value: Dec | None
    contract_quote_id: str | None
    change_orders: list[ChangeOrderPublic]
    loss: LossPublic | None
    acceptance_date: str | None
    closing_summary: str | None
    opened_at: str
    won_at: str | None
    closed_at: str | None
    last_activity_at: str
    last_touch_at: str | None
    stalled: bool | None  # computed on reads; null in command replies


class DealSummary(Out):
    id: str
    account_id: str
    title: str
    owner_id: str
    pipeline: str
    stage: str
    status: str
    amount: Dec
    currency: str
    probability: Dec
    forecast_category: str
    weighted_amount: Dec
    expected_close_date: str | None
    days_in_stage: int
    stalled: bool
    last_touch_at: str | None
    opened_at: str
    updated_at: str
    version: int


class DealPage(Out):
    items: list[DealSummary]
    next: str | None
    next_cursor: str | None


class HistoryEntry(Out):
    version: int
    event_id: str
    type: str
    data: dict[str, Any]
    actor: str | None
    role: str | None
    reason: str | None
    request_id: str | None
    correlation_id: str | None
    idempotency_key: str | None
    recorded_at: str
    position: int
    hash: str


class HistoryPage(Out):
    deal_id: str
    version: int
    items: list[HistoryEntry]


class StagePublic(Out):
    code: str
    name: str
    name_zh: str
    probability: Dec
    forecast_category: str
    stall_limit_days: int | None
    gates: list[str]


class PipelinePublic(Out):
    code: str
    name: str
    name_zh: str
    preset: bool
    version: int | None  # null for presets (defined in code)
    stages: list[StagePublic]
    won_stage: str
    max_discount_pct: Dec
    min_margin_pct: Dec


class PipelineList(Out):
    items: list[PipelinePublic]
