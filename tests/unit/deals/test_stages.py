"""Stage moves: forward one at a time through the gates, back with a reason, skip only
with a manager's override."""

from decimal import Decimal

import pytest

from services.deals.domain import (
    ApproveQuote,
    ChangeStage,
    ForecastCategory,
    NotAllowedError,
    ReasonRequiredError,
    ReviseQuote,
    Role,
    SendQuote,
    StageChanged,
    StageGateUnmetError,
    StageMove,
    StageSkipNeedsOverrideError,
    UnknownStageError,
    WrongStageError,
    decide,
)

from .builders import (
    DEAL_ID,
    DEEP_DISCOUNT,
    LATER,
    OPENED,
    QUOTE_ID,
    Story,
    cmd,
    given,
    story_to,
)

REPORT_FIELDS = (
    "project_name",
    "project_number",
    "customer_owner_contact_id",
    "estimated_contract_amount",
    "estimated_gross_margin_pct",
    "sales_expense_budget",
    "project_category",
    "expected_signing_date",
)


def move(to: str, role: Role = Role.REP, **fields: object) -> ChangeStage:
    return cmd(ChangeStage, role, to=to, **fields)


def test_forward_one_stage_with_its_defaults():
    deal = story_to("initiation").state
    assert decide(deal, move("proposal")) == [
        StageChanged(
            deal_id=DEAL_ID,
            from_stage="initiation",
            to_stage="proposal",
            move=StageMove.ADVANCE,
            skipped=(),
            reason=None,
            override=False,
            probability=Decimal(40),
            forecast_category=ForecastCategory.PIPELINE,
            at=LATER,
        )
    ]


def test_entering_a_stage_updates_probability_weighted_amount_and_history():
    story = story_to("tender")
    deal = story.state
    assert (deal.stage, deal.probability, deal.forecast_category) == ("tender", 60, "best_case")
    assert deal.weighted_amount == Decimal("600000.00")
    assert [v.stage for v in deal.stage_history] == [
        "prospecting",
        "initiation",
        "proposal",
        "tender",
    ]
    assert all(v.left_at is not None for v in deal.stage_history[:-1])
    assert deal.stage_history[-1].left_at is None


# --- gates ------------------------------------------------------------------------------


def test_initiation_needs_an_initiation_report_and_lists_every_missing_field():
    with pytest.raises(StageGateUnmetError) as err:
        decide(given(OPENED), move("initiation"))
    assert err.value.code == "stage-gate-unmet" and err.value.status == 409
    assert err.value.missing == tuple(f"initiation_report.{f}" for f in REPORT_FIELDS)
    assert err.value.extra["stage"] == "initiation"


def test_an_incomplete_report_lists_only_what_is_missing():
    deal = Story().open().report(project_number=None, sales_expense_budget=None).state
    assert deal.initiation_report is not None and not deal.initiation_report.complete
    with pytest.raises(StageGateUnmetError) as err:
        decide(deal, move("initiation"))
    assert err.value.missing == (
        "initiation_report.project_number",
        "initiation_report.sales_expense_budget",
    )
    assert "project_number" in err.value.detail


def test_tender_needs_an_approved_or_sent_quote():
    deal = story_to("proposal").state
    with pytest.raises(StageGateUnmetError) as err:
        decide(deal, move("tender"))
    assert err.value.missing == ("quote_approved_or_sent",)


def test_a_quote_waiting_for_approval_does_not_open_the_tender_gate():
    story = story_to("proposal").quote(QUOTE_ID, DEEP_DISCOUNT)
    with pytest.raises(StageGateUnmetError):
        decide(story.state, move("tender"))
    story(ApproveQuote, Role.MANAGER, quote_id=QUOTE_ID)
    assert decide(story.state, move("tender"))


def test_a_quote_within_limits_is_approved_on_issue_and_opens_the_tender_gate():
    story = story_to("proposal").quote()
    [event] = decide(story.state, move("tender"))
    assert event.to_stage == "tender"


def test_negotiation_needs_a_sent_quote():
    deal = story_to("tender").state  # its quote is approved, not sent
    with pytest.raises(StageGateUnmetError) as err:
        decide(deal, move("negotiation"))
    assert err.value.missing == ("quote_sent",)
    sent = story_to("tender")(SendQuote, quote_id=QUOTE_ID).state
    assert decide(sent, move("negotiation"))


# --- back -------------------------------------------------------------------------------


def test_back_any_number_of_stages_with_a_reason():
    deal = story_to("negotiation").state
    [event] = decide(deal, move("initiation", reason="客户重新立项"))
    assert (event.move, event.reason, event.probability) == (StageMove.BACK, "客户重新立项", 20)


def test_back_needs_a_reason():
    with pytest.raises(ReasonRequiredError) as err:
        decide(story_to("proposal").state, move("initiation", reason="  "))
    assert (err.value.code, err.value.status) == ("reason-required", 422)


def test_going_forward_again_rechecks_the_gate():
    story = story_to("tender").to("proposal", reason="price rework")
    story(ReviseQuote, quote_id=QUOTE_ID, lines=(DEEP_DISCOUNT,))  # now waiting for approval
    with pytest.raises(StageGateUnmetError):
        decide(story.state, move("tender"))


# --- skip -------------------------------------------------------------------------------


def test_skipping_a_stage_needs_an_override():
    with pytest.raises(StageSkipNeedsOverrideError) as err:
        decide(story_to("initiation").state, move("tender"))
    assert (err.value.code, err.value.status) == ("stage-skip-needs-override", 409)


def test_only_a_manager_may_override_a_skip():
    with pytest.raises(NotAllowedError):
        decide(story_to("initiation").state, move("tender", override=True, reason="r"))


def test_a_manager_skips_with_a_reason_and_the_skipped_stages_are_recorded():
    deal = Story().open().quote().state
    [event] = decide(deal, move("tender", Role.MANAGER, override=True, reason="framework renewal"))
    assert (event.move, event.skipped, event.override) == (
        StageMove.SKIP,
        ("initiation", "proposal"),
        True,
    )


def test_a_skip_needs_a_reason_even_for_a_manager():
    deal = Story().open().quote().state
    with pytest.raises(ReasonRequiredError):
        decide(deal, move("tender", Role.MANAGER, override=True))


def test_a_skip_still_needs_the_target_stage_gate():
    """The override waives the skipped stages' gates, not the target's."""
    with pytest.raises(StageGateUnmetError) as err:
        decide(given(OPENED), move("tender", Role.MANAGER, override=True, reason="r"))
    assert err.value.missing == ("quote_approved_or_sent",)


# --- refused moves ----------------------------------------------------------------------


def test_the_won_stage_is_entered_only_by_winning():
    with pytest.raises(WrongStageError) as err:
        decide(story_to("negotiation").state, move("implementation"))
    assert (err.value.code, err.value.status) == ("wrong-stage", 409)


def test_moving_to_the_current_stage_is_refused():
    with pytest.raises(WrongStageError):
        decide(given(OPENED), move("prospecting"))


def test_an_unknown_stage():
    with pytest.raises(UnknownStageError) as err:
        decide(given(OPENED), move("celebration"))
    assert (err.value.code, err.value.status) == ("unknown-stage", 422)


def test_a_rep_cannot_move_another_reps_deal():
    with pytest.raises(NotAllowedError):
        decide(story_to("prospecting").state, move("initiation", actor="rep-other"))
