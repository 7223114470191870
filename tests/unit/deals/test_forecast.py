"""Forecast override: the suggested and the asserted value side by side; a stage change
never silently overwrites an assertion."""

from datetime import date
from decimal import Decimal

import pytest

from services.deals.domain import (
    ChangeStage,
    ClearForecastOverride,
    DealNotOpenError,
    ForecastCategory,
    ForecastConflictRaised,
    ForecastOverridden,
    ForecastOverrideCleared,
    InvalidCommandError,
    OverrideForecast,
    ReasonRequiredError,
    StageChanged,
    WinDeal,
    decide,
)

from .builders import (
    DEAL_ID,
    LATER,
    OPENED,
    OWNER,
    cmd,
    given,
    negotiation_with_accepted_quote,
    story_to,
    won_story,
)

COMMIT = ForecastCategory.COMMIT
BEST = ForecastCategory.BEST_CASE


def override(**fields: object) -> OverrideForecast:
    return cmd(OverrideForecast, **({"reason": "客户口头确认预算"} | fields))


def test_an_override_is_recorded_beside_the_suggestion():
    events = decide(given(OPENED), override(category=COMMIT, probability=Decimal(50)))
    assert events == [
        ForecastOverridden(
            deal_id=DEAL_ID,
            category=COMMIT,
            probability=Decimal(50),
            reason="客户口头确认预算",
            by=OWNER,
            at=LATER,
        )
    ]
    deal = given(OPENED, *events)
    f = deal.forecast
    assert (f.suggested_category, f.suggested_probability) == (ForecastCategory.PIPELINE, 10)
    assert (f.asserted_category, f.asserted_probability) == (COMMIT, 50)
    assert (deal.forecast_category, deal.probability) == (COMMIT, 50)
    assert deal.weighted_amount == Decimal("500000.00")


def test_overriding_one_field_keeps_the_other_suggested():
    deal = given(OPENED, *decide(given(OPENED), override(probability=Decimal("33.3"))))
    assert (deal.forecast_category, deal.probability) == (
        ForecastCategory.PIPELINE,
        Decimal("33.3"),
    )
    assert deal.weighted_amount == Decimal("333000.00")


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({}, InvalidCommandError),
        ({"probability": Decimal(101)}, InvalidCommandError),
        ({"probability": Decimal(-1)}, InvalidCommandError),
        ({"category": COMMIT, "reason": " "}, ReasonRequiredError),
    ],
)
def test_override_refuses_bad_input(fields, error):
    with pytest.raises(error):
        decide(given(OPENED), override(**fields))


def test_a_stage_change_that_moves_the_suggestion_reports_a_conflict():
    story = story_to("initiation")(
        OverrideForecast, category=BEST, probability=Decimal(30), reason="r"
    )
    events = decide(story.state, cmd(ChangeStage, to="proposal"))
    assert [type(e) for e in events] == [StageChanged, ForecastConflictRaised]
    assert events[1] == ForecastConflictRaised(
        deal_id=DEAL_ID,
        stage="proposal",
        asserted_category=None,  # proposal still suggests 'pipeline': no category conflict
        suggested_category=None,
        asserted_probability=Decimal(30),
        suggested_probability=Decimal(40),
        at=LATER,
    )
    deal = given(*story.events, *events)
    # The assertion stands; the suggestion moved; the conflict waits for someone.
    assert deal.probability == Decimal(30)
    assert deal.forecast.suggested_probability == Decimal(40)
    assert deal.forecast.conflict is not None
    assert deal.forecast.conflict.fields == ("probability",)


def test_a_category_conflict():
    story = story_to("proposal")(OverrideForecast, category=COMMIT, reason="r")
    story.quote()
    events = decide(story.state, cmd(ChangeStage, to="tender"))
    conflict = events[1]
    assert (conflict.asserted_category, conflict.suggested_category) == (COMMIT, BEST)
    assert conflict.asserted_probability is None


def test_no_conflict_when_the_suggestion_reaches_the_assertion():
    story = story_to("initiation")(OverrideForecast, probability=Decimal(40), reason="r")
    events = decide(story.state, cmd(ChangeStage, to="proposal"))
    assert [type(e) for e in events] == [StageChanged]


def test_re_asserting_resolves_the_conflict():
    story = story_to("initiation")(OverrideForecast, probability=Decimal(30), reason="r")
    story.to("proposal")
    assert story.state.forecast.conflict is not None
    story(OverrideForecast, probability=Decimal(35), reason="after review")
    assert story.state.forecast.conflict is None
    assert story.state.probability == Decimal(35)


def test_clearing_the_override_follows_the_stage_again():
    story = story_to("initiation")(OverrideForecast, probability=Decimal(30), reason="r")
    story.to("proposal")
    events = decide(story.state, cmd(ClearForecastOverride, reason="accept the stage default"))
    assert events == [
        ForecastOverrideCleared(deal_id=DEAL_ID, reason="accept the stage default", at=LATER)
    ]
    deal = given(*story.events, *events)
    assert deal.forecast.conflict is None and not deal.forecast.overridden
    assert deal.probability == Decimal(40)


def test_clearing_when_nothing_is_asserted_records_nothing():
    assert decide(given(OPENED), cmd(ClearForecastOverride)) == []


def test_a_won_deal_forecast_is_closed():
    won = won_story().state
    assert (won.forecast_category, won.probability) == (ForecastCategory.CLOSED, 100)
    with pytest.raises(DealNotOpenError):
        decide(won, override(probability=Decimal(90)))
    with pytest.raises(DealNotOpenError):
        decide(won, cmd(ClearForecastOverride))


def test_winning_drops_assertions():
    story = negotiation_with_accepted_quote()(OverrideForecast, probability=Decimal(95), reason="r")
    assert story.state.forecast.overridden
    story(WinDeal, contract_number="HT-1", signed_date=date(2026, 3, 20))
    assert not story.state.forecast.overridden
    assert story.state.probability == 100
