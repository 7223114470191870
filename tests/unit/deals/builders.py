"""Shared givens for the deals domain tests: ids, actors, command factories, and
event histories that bring a key-account deal to a given point.

Histories are produced by deciding real commands, so a "given" is always a stream
the domain itself could have written.
"""

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from services.deals.domain import (
    AcceptQuote,
    ChangeStage,
    CloseDeal,
    Command,
    Deal,
    DealEvent,
    DealOpened,
    ForecastCategory,
    IssueQuote,
    LoseDeal,
    LossCause,
    OpenDeal,
    Pipeline,
    QuoteLine,
    Role,
    SendQuote,
    SubmitInitiationReport,
    WinDeal,
    decide,
    evolve,
    replay,
)

T0 = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
DEAL_ID = UUID(int=31)
ACCOUNT_ID = UUID(int=1)
CONTACT_ID = UUID(int=11)
QUOTE_ID = UUID(int=41)
QUOTE_2 = UUID(int=42)
CHANGE_ID = UUID(int=51)

OWNER = "rep-owner"
OTHER_REP = "rep-other"
MANAGER_ID = "mgr-1"
ACTOR_IDS = {
    Role.REP: OWNER,
    Role.MANAGER: MANAGER_ID,
    Role.ADMIN: "adm-1",
    Role.AUDITOR: "aud-1",
    Role.SERVICE: "svc-import",
}


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


LATER = day(100)  # default time of a command under test: after every given event


def cmd(
    kind: type[Command],
    role: Role = Role.REP,
    actor: str | None = None,
    at: datetime = LATER,
    **fields: Any,
) -> Any:
    """A command of ``kind`` on DEAL_ID, sent by the owner rep unless told otherwise."""
    fields.setdefault("deal_id", DEAL_ID)
    return kind(actor_id=actor or ACTOR_IDS[role], actor_role=role, at=at, **fields)


def as_manager(kind: type[Command], **fields: Any) -> Any:
    return cmd(kind, Role.MANAGER, **fields)


def line(
    sku: str = "SRV-1",
    quantity: str = "10",
    price: str = "100000",
    discount: str = "5",
    cost: str = "60000",
    description: str = "Substation monitoring",
) -> QuoteLine:
    """A quote line; the default is within key-account limits (5% off, ~37% margin)."""
    return QuoteLine(
        sku=sku,
        description=description,
        quantity=Decimal(quantity),
        unit_price=Decimal(price),
        discount_pct=Decimal(discount),
        unit_cost=Decimal(cost),
    )


DEEP_DISCOUNT = line(sku="SRV-1", discount="25")  # above the 15% limit → approval


OPENED = DealOpened(
    deal_id=DEAL_ID,
    account_id=ACCOUNT_ID,
    title="华东电网 substation monitoring",
    owner_id=OWNER,
    pipeline="key-account",
    stage="prospecting",
    amount=Decimal("1000000"),
    currency="CNY",
    probability=Decimal(10),
    forecast_category=ForecastCategory.PIPELINE,
    expected_close_date=date(2026, 9, 30),
    source="referral",
    at=T0,
)


def given(*events: DealEvent) -> Deal:
    """The state after ``events`` (from the initial state)."""
    return replay(events)


class Story:
    """Decide and fold commands one after the other, one day apart, collecting events."""

    def __init__(self, pipeline: Pipeline | None = None) -> None:
        self.pipeline = pipeline
        self.state = Deal()
        self.events: list[DealEvent] = []
        self.clock = 0

    def __call__(self, kind: type[Command], role: Role = Role.REP, **fields: Any) -> "Story":
        command = cmd(kind, role, at=day(self.clock), **fields)
        self.clock += 1
        for event in decide(self.state, command, self.pipeline):
            self.state = evolve(self.state, event)
            self.events.append(event)
        return self

    def open(self, pipeline: str = "key-account", amount: str = "1000000") -> "Story":
        return self(
            OpenDeal,
            account_id=ACCOUNT_ID,
            title="华东电网 substation monitoring",
            owner_id=OWNER,
            amount=Decimal(amount),
            currency="CNY",
            pipeline=pipeline,
        )

    def report(self, **changes: Any) -> "Story":
        return self(SubmitInitiationReport, **(complete_report() | changes))

    def to(self, stage: str, role: Role = Role.REP, **fields: Any) -> "Story":
        return self(ChangeStage, role, to=stage, **fields)

    def quote(self, quote_id: UUID = QUOTE_ID, *lines: QuoteLine, **fields: Any) -> "Story":
        return self(
            IssueQuote, quote_id=quote_id, currency="CNY", lines=lines or (line(),), **fields
        )


def complete_report() -> dict[str, Any]:
    return {
        "project_name": "500kV 变电站在线监测",
        "project_number": "XM-2026-017",
        "customer_owner_contact_id": CONTACT_ID,
        "estimated_contract_amount": Decimal("1000000"),
        "estimated_gross_margin_pct": Decimal("32.5"),
        "sales_expense_budget": Decimal("40000"),
        "project_category": "工程",
        "expected_signing_date": date(2026, 9, 1),
    }


def story_to(stage: str) -> Story:
    """A key-account deal walked, one step a day, into ``stage`` (up to negotiation with
    an accepted quote, or implementation = won)."""
    story = Story().open()
    path = ["initiation", "proposal", "tender", "negotiation"]
    for step in path[: path.index(stage) + 1] if stage != "prospecting" else []:
        if step == "initiation":
            story.report()
        if step == "tender":
            story.quote()
        if step == "negotiation":
            story(SendQuote, quote_id=QUOTE_ID)
        story.to(step)
    return story


def negotiation_with_accepted_quote() -> Story:
    return story_to("negotiation")(AcceptQuote, quote_id=QUOTE_ID)


def won_story() -> Story:
    return negotiation_with_accepted_quote()(
        WinDeal, contract_number="HT-2026-088", signed_date=date(2026, 3, 20)
    )


def lost_story(stage: str = "proposal") -> Story:
    return story_to(stage)(LoseDeal, cause=LossCause.BID_LOST_PRICE, summary="价格高于对手 8%")


def closed_story() -> Story:
    return won_story()(CloseDeal, acceptance_date=date(2026, 12, 1), summary="验收通过")


def events_to(stage: str) -> list[DealEvent]:
    return story_to(stage).events


def at(event: DealEvent, when: datetime) -> DealEvent:
    return replace(event, at=when)
