"""A sales desk for view tests: real deal commands, decided by the domain at chosen
business times (``at``), appended to the event store like the handlers would."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from services.deals.domain import (
    EVENT_TYPES,
    STREAM_TYPE,
    AcceptQuote,
    ChangeStage,
    Command,
    Deal,
    DealEvent,
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
)
from shared.aggregates import EventCodec
from shared.eventstore import EventStore

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # a Monday
ACCOUNT_A = UUID(int=0xA)
ACCOUNT_B = UUID(int=0xB)
CODEC = EventCodec(EVENT_TYPES)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


class Desk:
    """Runs commands against deals it keeps in memory and appends their events."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.deals: dict[UUID, Deal] = {}
        self.quotes: dict[UUID, UUID] = {}
        self.definitions: dict[UUID, Pipeline] = {}  # admin-defined pipelines by deal

    async def do(
        self,
        deal_id: UUID,
        kind: type[Command],
        at: datetime,
        role: Role = Role.REP,
        actor: str | None = None,
        **fields: Any,
    ) -> list[DealEvent]:
        state = self.deals.get(deal_id, Deal())
        actor = actor or fields.get("owner_id") or state.owner_id
        command = kind(deal_id=deal_id, actor_id=actor, actor_role=role, at=at, **fields)
        events = decide(state, command, self.definitions.get(deal_id))
        if events:
            await self.store.append(
                str(deal_id),
                STREAM_TYPE,
                state.version,
                [CODEC.encode(e) for e in events],
                {"actor": actor, "role": str(role)},
            )
        for event in events:
            state = evolve(state, event)
        self.deals[deal_id] = state
        return events

    async def open(
        self,
        at: datetime,
        *,
        owner: str = "rep-a",
        amount: str = "100000",
        currency: str = "CNY",
        close: date | None = None,
        account: UUID = ACCOUNT_A,
        pipeline: str | Pipeline = "key-account",
        deal_id: UUID | None = None,
    ) -> UUID:
        deal_id = deal_id or uuid4()
        if isinstance(pipeline, Pipeline):
            self.definitions[deal_id], pipeline = pipeline, pipeline.code
        await self.do(
            deal_id,
            OpenDeal,
            at,
            account_id=account,
            title=f"deal {deal_id.hex[:6]}",
            owner_id=owner,
            amount=Decimal(amount),
            currency=currency,
            pipeline=pipeline,
            expected_close_date=close,
        )
        return deal_id

    async def to(self, deal_id: UUID, stage: str, at: datetime, **fields: Any) -> None:
        await self.do(deal_id, ChangeStage, at, to=stage, **fields)

    async def skip_to(self, deal_id: UUID, stage: str, at: datetime) -> None:
        await self.do(
            deal_id, ChangeStage, at, Role.MANAGER, "mgr-1", to=stage, override=True, reason="ok"
        )

    async def advance(self, deal_id: UUID, stage: str, at: datetime) -> None:
        """Forward one key-account stage, meeting its gate first."""
        if stage == "initiation":
            await self.do(deal_id, SubmitInitiationReport, at, **_report())
        if stage == "tender" and deal_id not in self.quotes:
            await self.quote(deal_id, at)
        if stage == "negotiation":
            await self.do(deal_id, SendQuote, at, quote_id=self.quotes[deal_id])
        await self.to(deal_id, stage, at)

    async def quote(self, deal_id: UUID, at: datetime, total: str | None = None) -> None:
        price = Decimal(total) if total else self.deals[deal_id].amount
        line = QuoteLine(
            sku="SKU-1",
            description="system",
            quantity=Decimal(1),
            unit_price=price,
            discount_pct=Decimal(0),
            unit_cost=price * Decimal("0.6"),
        )
        self.quotes[deal_id] = uuid4()
        currency = self.deals[deal_id].currency
        await self.do(
            deal_id, IssueQuote, at, quote_id=self.quotes[deal_id], currency=currency, lines=(line,)
        )

    async def win(self, deal_id: UUID, at: datetime) -> None:
        """From negotiation: accept the quote, sign."""
        await self.do(deal_id, AcceptQuote, at, quote_id=self.quotes[deal_id])
        await self.do(deal_id, WinDeal, at, contract_number="HT-1", signed_date=at.date())

    async def lose(
        self, deal_id: UUID, at: datetime, cause: LossCause, competitor: str | None = None
    ) -> None:
        await self.do(deal_id, LoseDeal, at, cause=cause, summary="lost", competitor=competitor)


def _report() -> dict[str, Any]:
    return {
        "project_name": "项目",
        "project_number": "XM-1",
        "customer_owner_contact_id": UUID(int=1),
        "estimated_contract_amount": Decimal(100000),
        "estimated_gross_margin_pct": Decimal(30),
        "sales_expense_budget": Decimal(1000),
        "project_category": "工程",
        "expected_signing_date": date(2026, 6, 30),
    }
