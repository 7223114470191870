"""Quotes: versions, approval when a limit is crossed, send, accept, diff."""

from datetime import date
from decimal import Decimal

import pytest

from services.deals.domain import (
    AcceptQuote,
    ApproveQuote,
    DealNotOpenError,
    DuplicateIdError,
    InvalidCommandError,
    IssueQuote,
    NotAllowedError,
    QuoteAccepted,
    QuoteApprovalRequiredError,
    QuoteApproved,
    QuoteExpiredError,
    QuoteIssued,
    QuoteNotFoundError,
    QuoteRejected,
    QuoteStateError,
    QuoteStatus,
    QuoteVersionNotFoundError,
    ReasonRequiredError,
    RejectQuote,
    ReviseQuote,
    Role,
    SendQuote,
    decide,
    diff,
)
from services.deals.domain.quotes import LineChange

from .builders import (
    DEAL_ID,
    DEEP_DISCOUNT,
    LATER,
    MANAGER_ID,
    OPENED,
    QUOTE_2,
    QUOTE_ID,
    Story,
    cmd,
    day,
    given,
    line,
    story_to,
    won_story,
)


def issue(*lines, quote_id=QUOTE_ID, **fields):
    return cmd(IssueQuote, quote_id=quote_id, currency="CNY", lines=lines or (line(),), **fields)


def test_issue_computes_total_and_gross_margin():
    lines = (line(), line(sku="HW-2", quantity="2", price="50000", discount="0", cost="45000"))
    [event] = decide(given(OPENED), issue(*lines, valid_until=date(2026, 12, 31)))
    assert event == QuoteIssued(
        deal_id=DEAL_ID,
        quote_id=QUOTE_ID,
        version=1,
        currency="CNY",
        lines=lines,
        valid_until=date(2026, 12, 31),
        total=Decimal("1050000.00"),  # 950,000 + 100,000
        cost=Decimal("690000.00"),  # 600,000 + 90,000
        gross_margin=Decimal("360000.00"),
        gross_margin_pct=Decimal("34.29"),
        approval_required=False,
        approval_reasons=(),
        at=LATER,
    )
    quote = given(OPENED, event).quote(QUOTE_ID)
    assert quote.status is QuoteStatus.APPROVED  # within limits: no manager needed
    assert quote.latest.totals.total == Decimal("1050000.00")


def test_a_discount_above_the_limit_needs_approval():
    [event] = decide(given(OPENED), issue(DEEP_DISCOUNT))
    assert event.approval_required
    assert event.approval_reasons == ("line 1 (SRV-1): discount 25% above the 15% limit",)
    assert given(OPENED, event).quote(QUOTE_ID).status is QuoteStatus.PENDING_APPROVAL


def test_a_margin_below_the_floor_needs_approval():
    [event] = decide(given(OPENED), issue(line(discount="0", cost="85000")))
    assert event.gross_margin_pct == Decimal("15.00")
    assert event.approval_reasons == ("gross margin 15.00% below the 20% floor",)


@pytest.mark.parametrize(
    "bad",
    [
        {"lines": ()},
        {"lines": (line(quantity="0"),)},
        {"lines": (line(price="-1"),)},
        {"lines": (line(discount="101"),)},
        {"lines": (line(sku=" "),)},
        {"currency": "USD"},  # the deal is in CNY
        {"valid_until": date(2020, 1, 1)},
    ],
)
def test_issue_refuses_bad_input(bad):
    fields = {"quote_id": QUOTE_ID, "currency": "CNY", "lines": (line(),)} | bad
    with pytest.raises(InvalidCommandError):
        decide(given(OPENED), cmd(IssueQuote, **fields))


def test_a_quote_id_is_used_once():
    story = Story().open().quote()
    with pytest.raises(DuplicateIdError) as err:
        decide(story.state, issue())
    assert (err.value.code, err.value.status) == ("duplicate-id", 409)


# --- approval ---------------------------------------------------------------------------


def pending() -> Story:
    return Story().open().quote(QUOTE_ID, DEEP_DISCOUNT)


def test_a_pending_quote_cannot_be_sent():
    with pytest.raises(QuoteApprovalRequiredError) as err:
        decide(pending().state, cmd(SendQuote, quote_id=QUOTE_ID))
    assert (err.value.code, err.value.status) == ("quote-approval-required", 409)
    assert err.value.extra["reasons"] == ["line 1 (SRV-1): discount 25% above the 15% limit"]


def test_a_manager_approves_then_it_can_be_sent():
    story = pending()
    events = decide(
        story.state, cmd(ApproveQuote, Role.MANAGER, quote_id=QUOTE_ID, note="战略客户")
    )
    assert events == [
        QuoteApproved(
            deal_id=DEAL_ID, quote_id=QUOTE_ID, version=1, by=MANAGER_ID, note="战略客户", at=LATER
        )
    ]
    approved = given(*story.events, *events)
    assert approved.quote(QUOTE_ID).latest.decided_by == MANAGER_ID
    assert decide(approved, cmd(SendQuote, quote_id=QUOTE_ID))


@pytest.mark.parametrize(
    "command",
    [
        cmd(ApproveQuote, quote_id=QUOTE_ID),
        cmd(RejectQuote, quote_id=QUOTE_ID, reason="r"),
        cmd(ApproveQuote, Role.SERVICE, quote_id=QUOTE_ID),
    ],
)
def test_only_managers_decide_on_quotes(command):
    with pytest.raises(NotAllowedError):
        decide(pending().state, command)


def test_a_manager_rejects_with_a_reason():
    story = pending()
    events = decide(
        story.state, cmd(RejectQuote, Role.MANAGER, quote_id=QUOTE_ID, reason="低于底价")
    )
    assert events == [
        QuoteRejected(
            deal_id=DEAL_ID,
            quote_id=QUOTE_ID,
            version=1,
            by=MANAGER_ID,
            reason="低于底价",
            at=LATER,
        )
    ]
    rejected = given(*story.events, *events)
    assert rejected.quote(QUOTE_ID).status is QuoteStatus.REJECTED
    with pytest.raises(QuoteStateError) as err:
        decide(rejected, cmd(SendQuote, quote_id=QUOTE_ID))
    assert (err.value.code, err.value.status) == ("quote-state-conflict", 409)


def test_rejecting_needs_a_reason():
    with pytest.raises(ReasonRequiredError):
        decide(pending().state, cmd(RejectQuote, Role.MANAGER, quote_id=QUOTE_ID, reason=""))


def test_only_a_pending_quote_is_approved():
    with pytest.raises(QuoteStateError):
        decide(Story().open().quote().state, cmd(ApproveQuote, Role.MANAGER, quote_id=QUOTE_ID))


def test_an_unknown_quote():
    with pytest.raises(QuoteNotFoundError) as err:
        decide(given(OPENED), cmd(SendQuote, quote_id=QUOTE_2))
    assert (err.value.code, err.value.status) == ("quote-not-found", 404)


# --- revisions --------------------------------------------------------------------------


def test_a_revision_is_a_new_version_and_needs_approval_again():
    story = Story().open().quote()(SendQuote, quote_id=QUOTE_ID)
    [event] = decide(
        story.state,
        cmd(ReviseQuote, quote_id=QUOTE_ID, lines=(DEEP_DISCOUNT,), reason="客户压价"),
    )
    assert (event.version, event.approval_required, event.reason) == (2, True, "客户压价")
    quote = given(*story.events, event).quote(QUOTE_ID)
    assert [v.status for v in quote.versions] == [
        QuoteStatus.SUPERSEDED,
        QuoteStatus.PENDING_APPROVAL,
    ]
    assert quote.version(1).lines == (line(),)  # every version stays readable


def test_a_revision_keeps_the_validity_unless_given():
    story = Story().open().quote(QUOTE_ID, valid_until=date(2026, 6, 30))
    [event] = decide(story.state, cmd(ReviseQuote, quote_id=QUOTE_ID, lines=(line(discount="10"),)))
    assert event.valid_until == date(2026, 6, 30)


def test_an_accepted_quote_is_not_revised():
    story = Story().open().quote()(SendQuote, quote_id=QUOTE_ID)(AcceptQuote, quote_id=QUOTE_ID)
    with pytest.raises(QuoteStateError):
        decide(story.state, cmd(ReviseQuote, quote_id=QUOTE_ID, lines=(line(),)))


def test_the_diff_shows_each_line_change():
    story = (
        Story()
        .open()
        .quote(
            QUOTE_ID,
            line(),
            line(sku="HW-2", quantity="2", price="50000", discount="0", cost="45000"),
        )
    )
    story(
        ReviseQuote,
        quote_id=QUOTE_ID,
        lines=(line(discount="10"), line(sku="TRN-3", quantity="1", price="20000", cost="5000")),
    )
    d = diff(story.state.quote(QUOTE_ID), 1, 2)
    assert [(ld.sku, ld.change) for ld in d.lines] == [
        ("SRV-1", LineChange.CHANGED),
        ("TRN-3", LineChange.ADDED),
        ("HW-2", LineChange.REMOVED),
    ]
    changed = {c.field: (c.before, c.after) for c in d.lines[0].fields}
    assert changed["discount_pct"] == (Decimal(5), Decimal(10))
    assert changed["net"] == (Decimal("950000.00"), Decimal("900000.00"))
    assert changed["margin_pct"] == (Decimal("36.84"), Decimal("33.33"))
    assert "quantity" not in changed and "unit_price" not in changed
    totals = {c.field: (c.before, c.after) for c in d.totals}
    assert totals["total"] == (Decimal("1050000.00"), Decimal("919000.00"))
    assert diff(story.state.quote(QUOTE_ID), 2, 2).totals == ()


def test_the_diff_of_a_missing_version():
    with pytest.raises(QuoteVersionNotFoundError) as err:
        diff(Story().open().quote().state.quote(QUOTE_ID), 1, 3)
    assert (err.value.code, err.value.status) == ("quote-version-not-found", 404)


# --- send and accept --------------------------------------------------------------------


def test_only_a_sent_quote_is_accepted():
    with pytest.raises(QuoteStateError):
        decide(Story().open().quote().state, cmd(AcceptQuote, quote_id=QUOTE_ID))


def test_an_expired_quote_is_neither_sent_nor_accepted():
    story = Story().open().quote(QUOTE_ID, valid_until=date(2026, 3, 10))
    with pytest.raises(QuoteExpiredError) as err:
        decide(story.state, cmd(SendQuote, quote_id=QUOTE_ID, at=day(30)))
    assert (err.value.code, err.value.status) == ("quote-expired", 409)
    story(SendQuote, quote_id=QUOTE_ID)
    with pytest.raises(QuoteExpiredError):
        decide(story.state, cmd(AcceptQuote, quote_id=QUOTE_ID, at=day(30)))


def test_a_sent_quote_is_not_sent_again():
    story = Story().open().quote()(SendQuote, quote_id=QUOTE_ID)
    with pytest.raises(QuoteStateError):
        decide(story.state, cmd(SendQuote, quote_id=QUOTE_ID))


def test_one_accepted_quote_per_deal_the_earlier_one_is_superseded():
    story = Story().open().quote()(SendQuote, quote_id=QUOTE_ID)(AcceptQuote, quote_id=QUOTE_ID)
    story.quote(QUOTE_2, line(discount="8"))(SendQuote, quote_id=QUOTE_2)
    events = decide(story.state, cmd(AcceptQuote, quote_id=QUOTE_2))
    assert events == [
        QuoteAccepted(
            deal_id=DEAL_ID, quote_id=QUOTE_2, version=1, superseded_quote_ids=(QUOTE_ID,), at=LATER
        )
    ]
    deal = given(*story.events, *events)
    assert [q.quote_id for q in deal.accepted_quotes] == [QUOTE_2]
    assert deal.quote(QUOTE_ID).status is QuoteStatus.SUPERSEDED


@pytest.mark.parametrize(
    "command",
    [
        cmd(IssueQuote, quote_id=QUOTE_2, currency="CNY", lines=(line(),)),
        cmd(ReviseQuote, quote_id=QUOTE_ID, lines=(line(),)),
        cmd(SendQuote, quote_id=QUOTE_ID),
        cmd(AcceptQuote, quote_id=QUOTE_ID),
        cmd(ApproveQuote, Role.MANAGER, quote_id=QUOTE_ID),
        cmd(RejectQuote, Role.MANAGER, quote_id=QUOTE_ID, reason="r"),
    ],
)
def test_quotes_are_frozen_once_the_deal_is_won(command):
    with pytest.raises(DealNotOpenError):
        decide(won_story().state, command)


def test_the_tender_quote_flow_end_to_end():
    deal = story_to("negotiation")(AcceptQuote, quote_id=QUOTE_ID).state
    assert deal.quote(QUOTE_ID).status is QuoteStatus.ACCEPTED
    assert deal.quote(QUOTE_ID).latest.sent_at is not None
