"""Property test: random command sequences never break an invariant.

A hypothesis state machine sends random commands from random actors to one
key-account deal, deciding and folding each as the handler would. Commands the
domain refuses (a ``DealError``) change nothing; anything else that escapes is a bug.
"""

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise
from uuid import UUID

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from services.deals.domain import (
    AcceptQuote,
    AddChangeOrder,
    AddCompetitor,
    ApproveQuote,
    ChangeStage,
    ClearForecastOverride,
    CloseDeal,
    Deal,
    DealError,
    DealStatus,
    ForecastCategory,
    IssueQuote,
    LoseDeal,
    LossCause,
    OpenDeal,
    OverrideForecast,
    QuoteLine,
    QuoteStatus,
    RejectQuote,
    RemoveCompetitor,
    ReopenDeal,
    ReviseQuote,
    Role,
    SendQuote,
    SubmitInitiationReport,
    UpdateDeal,
    WinDeal,
    decide,
    evolve,
    get_pipeline,
    replay,
)

from .builders import ACCOUNT_ID, DEAL_ID, OTHER_REP, OWNER, T0, complete_report

PIPELINE = get_pipeline("key-account")
STAGES = [s.code for s in PIPELINE.stages]
QUOTE_IDS = [UUID(int=n) for n in (101, 102, 103)]
CHANGE_IDS = [UUID(int=n) for n in (201, 202)]
ACTORS = st.sampled_from(
    [
        (OWNER, Role.REP),
        (OWNER, Role.REP),
        ("mgr-1", Role.MANAGER),
        ("mgr-1", Role.MANAGER),
        ("adm-1", Role.ADMIN),
        (OTHER_REP, Role.REP),
        ("aud-1", Role.AUDITOR),
        ("svc-import", Role.SERVICE),
    ]
)
MONEY = st.decimals(min_value=0, max_value=5_000_000, places=2)
PERCENT = st.decimals(min_value=0, max_value=100, places=1)
TEXT = st.sampled_from(["", "  ", "reason", "客户要求"])
LINES = st.lists(
    st.builds(
        QuoteLine,
        sku=st.sampled_from(["SRV-1", "HW-2", "TRN-3"]),
        description=st.just("item"),
        quantity=st.decimals(min_value=1, max_value=20, places=0),
        unit_price=st.decimals(min_value=0, max_value=100_000, places=2),
        discount_pct=st.decimals(min_value=0, max_value=30, places=0),
        unit_cost=st.decimals(min_value=0, max_value=80_000, places=2),
    ),
    min_size=1,
    max_size=3,
).map(tuple)


WITHIN_LIMITS = QuoteLine(
    sku="SRV-1",
    description="item",
    quantity=Decimal(2),
    unit_price=Decimal(1000),
    discount_pct=Decimal(5),
    unit_cost=Decimal(500),
)


def _next_step(d: Deal, new_quote_id: UUID) -> tuple[type, dict]:
    quotes = {q.status: q.quote_id for q in d.quotes}
    if d.ended:
        return ReopenDeal, {"reason": "back on"}
    if d.status is DealStatus.WON:
        if len(d.change_orders) < len(CHANGE_IDS):
            cid = CHANGE_IDS[len(d.change_orders)]
            return AddChangeOrder, {"change_order_id": cid, "description": "d", "amount_delta": 1}
        return CloseDeal, {"acceptance_date": date(2026, 12, 1), "summary": "done"}
    if d.initiation_report is None or not d.initiation_report.complete:
        return SubmitInitiationReport, complete_report()
    if QuoteStatus.PENDING_APPROVAL in quotes:
        return ApproveQuote, {"quote_id": quotes[QuoteStatus.PENDING_APPROVAL]}
    if d.stage == "negotiation":
        if QuoteStatus.ACCEPTED in quotes:
            return WinDeal, {"contract_number": "HT-1", "signed_date": date(2026, 5, 1)}
        if QuoteStatus.SENT in quotes:
            return AcceptQuote, {"quote_id": quotes[QuoteStatus.SENT]}
    if d.stage in ("proposal", "tender", "negotiation"):
        if QuoteStatus.APPROVED in quotes and QuoteStatus.SENT not in quotes:
            return SendQuote, {"quote_id": quotes[QuoteStatus.APPROVED]}
        if not {QuoteStatus.APPROVED, QuoteStatus.SENT, QuoteStatus.ACCEPTED} & set(quotes):
            lines = (WITHIN_LIMITS,)
            return IssueQuote, {"quote_id": new_quote_id, "currency": "CNY", "lines": lines}
    return ChangeStage, {"to": STAGES[min(STAGES.index(d.stage) + 1, len(STAGES) - 1)]}


class DealMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.deal = Deal()
        self.events: list = []
        self.now = T0

    def send(self, kind, actor, **fields) -> bool:
        actor_id, role = actor
        command = kind(deal_id=DEAL_ID, actor_id=actor_id, actor_role=role, at=self.now, **fields)
        before = self.deal
        try:
            events = decide(before, command)
        except DealError:
            return False
        if before.ended:
            assert isinstance(command, ReopenDeal), f"{before.status} deal changed by {kind}"
            assert role in (Role.MANAGER, Role.ADMIN)
        if role is Role.AUDITOR:
            raise AssertionError("an auditor changed a deal")
        state = before
        for event in events:
            after = evolve(state, event)
            assert after.version == state.version + 1
            state = after
        self.deal = state
        self.events.extend(events)
        return True

    # --- time -------------------------------------------------------------------------

    @rule(hours=st.integers(min_value=0, max_value=24 * 20))
    def time_passes(self, hours):
        self.now += timedelta(hours=hours)

    # --- commands ---------------------------------------------------------------------

    @initialize(amount=MONEY)
    def opened(self, amount):
        self.open_deal((OWNER, Role.REP), amount)

    @rule(actor=ACTORS, amount=MONEY)
    def open_deal(self, actor, amount):
        self.send(
            OpenDeal,
            actor,
            account_id=ACCOUNT_ID,
            title="deal",
            owner_id=OWNER,
            amount=amount,
            currency="CNY",
        )

    @rule(actor=ACTORS, amount=st.none() | MONEY, owner=st.sampled_from([None, OWNER, OTHER_REP]))
    def update(self, actor, amount, owner):
        self.send(UpdateDeal, actor, amount=amount, owner_id=owner, next_step="call")

    @rule(actor=ACTORS, complete=st.booleans())
    def submit_report(self, actor, complete):
        report = complete_report() | ({} if complete else {"project_number": None})
        self.send(SubmitInitiationReport, actor, **report)

    @rule(actor=ACTORS, to=st.sampled_from(STAGES), reason=TEXT, override=st.booleans())
    def change_stage(self, actor, to, reason, override):
        self.send(ChangeStage, actor, to=to, reason=reason, override=override)

    @precondition(lambda self: self.deal.exists and self.deal.stage in STAGES[:-1])
    @rule(actor=ACTORS)
    def advance(self, actor):
        self.send(ChangeStage, actor, to=STAGES[STAGES.index(self.deal.stage) + 1])

    @rule(
        actor=ACTORS,
        category=st.none() | st.sampled_from(list(ForecastCategory)),
        probability=st.none() | PERCENT,
        reason=TEXT,
    )
    def override_forecast(self, actor, category, probability, reason):
        self.send(
            OverrideForecast, actor, category=category, probability=probability, reason=reason
        )

    @rule(actor=ACTORS)
    def clear_forecast(self, actor):
        self.send(ClearForecastOverride, actor)

    @rule(actor=ACTORS, name=st.sampled_from(["ABB", "abb", "许继"]), remove=st.booleans())
    def competitor(self, actor, name, remove):
        if remove:
            self.send(RemoveCompetitor, actor, name=name)
        else:
            self.send(AddCompetitor, actor, name=name, strengths="s")

    @rule(actor=ACTORS, quote_id=st.sampled_from(QUOTE_IDS), lines=LINES)
    def issue_quote(self, actor, quote_id, lines):
        self.send(IssueQuote, actor, quote_id=quote_id, currency="CNY", lines=lines)

    @rule(actor=ACTORS, quote_id=st.sampled_from(QUOTE_IDS), lines=LINES)
    def revise_quote(self, actor, quote_id, lines):
        self.send(ReviseQuote, actor, quote_id=quote_id, lines=lines)

    @rule(
        actor=ACTORS,
        quote_id=st.sampled_from(QUOTE_IDS),
        kind=st.sampled_from([ApproveQuote, SendQuote, SendQuote, AcceptQuote, RejectQuote]),
    )
    def quote_step(self, actor, quote_id, kind):
        extra = {"reason": "too low"} if kind is RejectQuote else {}
        self.send(kind, actor, quote_id=quote_id, **extra)

    @rule(
        actor=ACTORS | st.just(("mgr-1", Role.MANAGER)),
        which=st.integers(min_value=0, max_value=2),
        steps=st.integers(min_value=1, max_value=6),
    )
    def progress(self, actor, which, steps):
        """A few sensible steps towards a win (or past it), so that random runs reach the
        late stages often; the other rules stir in everything else."""
        for _ in range(steps):
            kind, fields = _next_step(self.deal, QUOTE_IDS[which])
            if not self.send(kind, actor, **fields):
                return

    @rule(actor=ACTORS)
    def win(self, actor):
        self.send(WinDeal, actor, contract_number="HT-1", signed_date=date(2026, 5, 1))

    @rule(actor=ACTORS, cause=st.sampled_from(list(LossCause)), competitor=st.none() | TEXT)
    def lose(self, actor, cause, competitor):
        self.send(LoseDeal, actor, cause=cause, competitor=competitor, summary="summary")

    @rule(actor=ACTORS, reason=TEXT)
    def reopen(self, actor, reason):
        self.send(ReopenDeal, actor, reason=reason)

    @rule(
        actor=ACTORS,
        change_id=st.sampled_from(CHANGE_IDS),
        delta=st.decimals(min_value=-300_000, max_value=300_000, places=2),
    )
    def change_order(self, actor, change_id, delta):
        self.send(
            AddChangeOrder, actor, change_order_id=change_id, description="d", amount_delta=delta
        )

    @rule(actor=ACTORS)
    def close(self, actor):
        self.send(CloseDeal, actor, acceptance_date=date(2026, 12, 1), summary="done")

    # --- invariants -------------------------------------------------------------------

    @invariant()
    def version_counts_the_events_and_replay_agrees(self):
        assert self.deal.version == len(self.events)
        assert replay(self.events) == self.deal

    @invariant()
    def event_times_never_go_backwards(self):
        times = [e.at for e in self.events]
        assert times == sorted(times)

    @invariant()
    def weighted_amount_is_amount_times_probability(self):
        d = self.deal
        expected = (d.amount * d.probability / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)
        assert d.weighted_amount == expected
        assert d.amount >= 0 and 0 <= d.probability <= 100
        if d.status is DealStatus.LOST:
            assert d.weighted_amount == 0

    @invariant()
    def one_accepted_quote_at_most_and_exactly_one_after_a_win(self):
        d = self.deal
        accepted = d.accepted_quotes
        assert len(accepted) <= 1
        if d.status in (DealStatus.WON, DealStatus.CLOSED):
            assert len(accepted) == 1
            assert d.contract_quote_id == accepted[0].quote_id
            deltas = sum((c.amount_delta for c in d.change_orders), Decimal(0))
            assert d.contract_value == accepted[0].latest.totals.total + deltas == d.amount

    @invariant()
    def stage_history_is_consistent(self):
        d = self.deal
        if not d.exists:
            return
        history = d.stage_history
        assert history[-1].stage == d.stage
        open_visits = [v for v in history if v.left_at is None]
        assert len(open_visits) == (0 if d.ended else 1)
        for a, b in pairwise(history):
            assert a.left_at is not None and a.entered_at <= a.left_at <= b.entered_at
        won_side = PIPELINE.is_won_side(d.stage)
        assert won_side == (d.status in (DealStatus.WON, DealStatus.CLOSED))


DealMachine.TestCase.settings = settings(
    max_examples=100,
    stateful_step_count=50,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestDealInvariants = DealMachine.TestCase
