"""Win, loss, reopen, change orders, close — and the ended deal that refuses everything
but a manager's reopen."""

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from services.deals.domain import (
    AcceptQuote,
    AddChangeOrder,
    AddCompetitor,
    ChangeOrderAdded,
    ChangeStage,
    ClearForecastOverride,
    CloseDeal,
    DealClosed,
    DealClosedError,
    DealLost,
    DealNotOpenError,
    DealNotReopenableError,
    DealNotWonError,
    DealReopened,
    DealStatus,
    DealWon,
    DuplicateIdError,
    ForecastCategory,
    InvalidCommandError,
    IssueQuote,
    LoseDeal,
    LossCause,
    NotAllowedError,
    OverrideForecast,
    ReasonRequiredError,
    RemoveCompetitor,
    ReopenDeal,
    Role,
    SendQuote,
    StageGateUnmetError,
    SubmitInitiationReport,
    UpdateDeal,
    WinDeal,
    WrongStageError,
    decide,
)

from .builders import (
    CHANGE_ID,
    DEAL_ID,
    LATER,
    QUOTE_ID,
    Story,
    as_manager,
    closed_story,
    cmd,
    given,
    line,
    lost_story,
    negotiation_with_accepted_quote,
    story_to,
    won_story,
)

WIN = {"contract_number": "HT-2026-088", "signed_date": date(2026, 3, 20)}


# --- win --------------------------------------------------------------------------------


def test_win_from_negotiation_with_an_accepted_quote():
    story = negotiation_with_accepted_quote()
    events = decide(story.state, cmd(WinDeal, **WIN))
    assert events == [
        DealWon(
            deal_id=DEAL_ID,
            contract_number="HT-2026-088",
            signed_date=date(2026, 3, 20),
            contract_value=Decimal("950000.00"),  # the accepted quote's total
            quote_id=QUOTE_ID,
            from_stage="negotiation",
            stage="implementation",
            probability=Decimal(100),
            forecast_category=ForecastCategory.CLOSED,
            at=LATER,
        )
    ]
    deal = given(*story.events, *events)
    assert (deal.status, deal.stage) == (DealStatus.WON, "implementation")
    assert deal.contract_value == deal.amount == deal.weighted_amount == Decimal("950000.00")
    assert deal.won_at == LATER
    assert len(deal.accepted_quotes) == 1


def test_win_needs_an_accepted_quote():
    with pytest.raises(StageGateUnmetError) as err:
        decide(story_to("negotiation").state, cmd(WinDeal, **WIN))
    assert err.value.missing == ("quote_accepted",)


@pytest.mark.parametrize("stage", ["prospecting", "proposal", "tender"])
def test_win_only_from_negotiation(stage):
    with pytest.raises(WrongStageError):
        decide(story_to(stage).state, cmd(WinDeal, **WIN))


def test_win_needs_a_contract_number():
    with pytest.raises(InvalidCommandError):
        decide(
            negotiation_with_accepted_quote().state, cmd(WinDeal, **(WIN | {"contract_number": ""}))
        )


def test_a_won_deal_is_not_won_again():
    with pytest.raises(DealNotOpenError):
        decide(won_story().state, cmd(WinDeal, **WIN))


def test_a_pipeline_without_a_quote_gate_wins_at_the_deal_amount():
    story = Story().open("customer-development", amount="250000")
    for stage in ("samples_information", "value_assessment", "relationship_building"):
        story.to(stage)
    [event] = decide(story.state, cmd(WinDeal, **WIN))
    assert (event.stage, event.contract_value, event.quote_id) == (
        "close_cooperation",
        Decimal("250000"),
        None,
    )


def test_a_won_showroom_deal_moves_on_through_delivery_but_not_back_before_the_deal():
    story = Story().open("showroom", amount="300000")
    for stage in ("reception", "consultation", "presentation", "test_drive", "negotiation"):
        story.to(stage)
    story(WinDeal, **WIN)
    assert story.state.stage == "deal"
    [event] = decide(story.state, cmd(ChangeStage, to="delivery"))
    assert event.to_stage == "delivery"
    with pytest.raises(WrongStageError):
        decide(story.state, cmd(ChangeStage, to="negotiation", reason="r"))


# --- loss -------------------------------------------------------------------------------


def test_lose_with_cause_competitor_and_stage_summary():
    story = story_to("tender")
    events = decide(
        story.state,
        cmd(
            LoseDeal, cause=LossCause.LOST_TO_COMPETITOR, competitor="许继电气", summary="技术分低"
        ),
    )
    assert events == [
        DealLost(
            deal_id=DEAL_ID,
            stage="tender",
            cause=LossCause.LOST_TO_COMPETITOR,
            competitor="许继电气",
            summary="技术分低",
            at=LATER,
        )
    ]
    deal = given(*story.events, *events)
    assert (deal.status, deal.stage, deal.loss.cause) == (
        DealStatus.LOST,
        "tender",
        "lost_to_competitor",
    )
    assert deal.probability == 0 and deal.weighted_amount == 0
    assert deal.forecast_category is ForecastCategory.OMITTED
    assert deal.stage_history[-1].left_at == LATER


def test_lost_to_a_competitor_names_the_competitor():
    with pytest.raises(InvalidCommandError) as err:
        decide(
            story_to("tender").state, cmd(LoseDeal, cause=LossCause.LOST_TO_COMPETITOR, summary="s")
        )
    assert err.value.extra["field"] == "competitor"


def test_a_loss_needs_a_stage_summary():
    with pytest.raises(InvalidCommandError):
        decide(story_to("tender").state, cmd(LoseDeal, cause=LossCause.NO_BID_MARGIN, summary=" "))


@pytest.mark.parametrize("cause", list(LossCause))
def test_every_cause_is_accepted(cause):
    [event] = decide(
        story_to("initiation").state, cmd(LoseDeal, cause=cause, competitor="X", summary="s")
    )
    assert event.cause is cause


def test_a_won_deal_is_not_lost():
    with pytest.raises(DealNotOpenError):
        decide(won_story().state, cmd(LoseDeal, cause=LossCause.OTHER, summary="s"))


# --- ended deals ------------------------------------------------------------------------

EVERY_COMMAND_BUT_REOPEN = [
    cmd(UpdateDeal, title="x"),
    cmd(SubmitInitiationReport, project_name="x"),
    as_manager(ChangeStage, to="prospecting", reason="r"),
    cmd(OverrideForecast, probability=Decimal(5), reason="r"),
    cmd(ClearForecastOverride),
    cmd(AddCompetitor, name="x"),
    cmd(RemoveCompetitor, name="x"),
    cmd(IssueQuote, quote_id=CHANGE_ID, currency="CNY", lines=(line(),)),
    cmd(SendQuote, quote_id=QUOTE_ID),
    cmd(AcceptQuote, quote_id=QUOTE_ID),
    cmd(WinDeal, **WIN),
    cmd(LoseDeal, cause=LossCause.OTHER, summary="s"),
    cmd(AddChangeOrder, change_order_id=CHANGE_ID, description="d", amount_delta=Decimal(1)),
    cmd(CloseDeal, acceptance_date=date(2026, 12, 1), summary="s"),
]


@pytest.mark.parametrize("ended", [lost_story, closed_story], ids=["lost", "closed"])
@pytest.mark.parametrize("command", EVERY_COMMAND_BUT_REOPEN, ids=lambda c: type(c).__name__)
def test_an_ended_deal_refuses_everything_but_reopen(ended, command):
    with pytest.raises(DealClosedError) as err:
        decide(ended().state, command)
    assert (err.value.code, err.value.status) == ("deal-closed", 409)
    assert "reopen" in err.value.detail
    # …even from a manager.
    with pytest.raises(DealClosedError):
        decide(ended().state, replace(command, actor_id="mgr-1", actor_role=Role.MANAGER))


# --- reopen -----------------------------------------------------------------------------


def test_reopen_a_lost_deal_back_to_the_stage_it_ended_in():
    story = lost_story("proposal")
    events = decide(story.state, as_manager(ReopenDeal, reason="客户重启招标"))
    assert events == [
        DealReopened(
            deal_id=DEAL_ID,
            stage="proposal",
            status=DealStatus.OPEN,
            reason="客户重启招标",
            probability=Decimal(40),
            forecast_category=ForecastCategory.PIPELINE,
            at=LATER,
        )
    ]
    deal = given(*story.events, *events)
    assert (deal.status, deal.stage, deal.loss, deal.probability) == ("open", "proposal", None, 40)
    assert deal.stage_history[-1].stage == "proposal" and deal.stage_history[-1].left_at is None


def test_reopen_a_closed_deal_back_to_won():
    story = closed_story()
    [event] = decide(story.state, as_manager(ReopenDeal, reason="验收问题整改"))
    deal = given(*story.events, event)
    assert (deal.status, deal.stage, deal.acceptance_date) == (
        DealStatus.WON,
        "implementation",
        None,
    )
    assert deal.contract_value == Decimal("950000.00")


def test_only_managers_reopen():
    with pytest.raises(NotAllowedError):
        decide(lost_story().state, cmd(ReopenDeal, reason="r"))


def test_reopen_needs_a_reason():
    with pytest.raises(ReasonRequiredError):
        decide(lost_story().state, as_manager(ReopenDeal, reason=""))


@pytest.mark.parametrize("story", [story_to, lambda _: won_story()], ids=["open", "won"])
def test_only_ended_deals_are_reopened(story):
    with pytest.raises(DealNotReopenableError) as err:
        decide(story("proposal").state, as_manager(ReopenDeal, reason="r"))
    assert (err.value.code, err.value.status) == ("deal-not-reopenable", 409)


# --- change orders and closing ----------------------------------------------------------


def change_order(delta: str, change_id=CHANGE_ID) -> AddChangeOrder:
    return cmd(
        AddChangeOrder,
        change_order_id=change_id,
        description="增加两套传感器",
        amount_delta=Decimal(delta),
    )


def test_a_change_order_revises_the_contract_value():
    story = won_story()
    events = decide(story.state, change_order("120000"))
    assert events == [
        ChangeOrderAdded(
            deal_id=DEAL_ID,
            change_order_id=CHANGE_ID,
            description="增加两套传感器",
            amount_delta=Decimal("120000"),
            contract_value=Decimal("1070000.00"),
            at=LATER,
        )
    ]
    deal = given(*story.events, *events)
    assert deal.contract_value == deal.amount == deal.weighted_amount == Decimal("1070000.00")
    assert len(deal.change_orders) == 1


@pytest.mark.parametrize("delta", ["0", "-950000.01"])
def test_a_change_order_changes_the_value_and_keeps_it_positive(delta):
    with pytest.raises(InvalidCommandError):
        decide(won_story().state, change_order(delta))


def test_a_change_order_id_is_used_once():
    story = won_story()(
        AddChangeOrder, change_order_id=CHANGE_ID, description="d", amount_delta=Decimal(1)
    )
    with pytest.raises(DuplicateIdError):
        decide(story.state, change_order("5"))


def test_change_orders_only_in_implementation():
    with pytest.raises(DealNotWonError) as err:
        decide(story_to("negotiation").state, change_order("1000"))
    assert (err.value.code, err.value.status) == ("deal-not-won", 409)


def test_close_a_won_deal():
    story = won_story()
    events = decide(
        story.state, cmd(CloseDeal, acceptance_date=date(2026, 12, 1), summary="验收通过")
    )
    assert events == [
        DealClosed(
            deal_id=DEAL_ID,
            stage="implementation",
            acceptance_date=date(2026, 12, 1),
            summary="验收通过",
            at=LATER,
        )
    ]
    deal = given(*story.events, *events)
    assert (deal.status, deal.closed_at) == (DealStatus.CLOSED, LATER)
    assert deal.stage_history[-1].left_at == LATER


def test_an_open_deal_is_not_closed():
    with pytest.raises(DealNotWonError):
        decide(
            story_to("negotiation").state,
            cmd(CloseDeal, acceptance_date=date(2026, 12, 1), summary="s"),
        )


def test_closing_needs_a_summary():
    with pytest.raises(InvalidCommandError):
        decide(won_story().state, cmd(CloseDeal, acceptance_date=date(2026, 12, 1), summary=""))
