"""Opening a deal, updating it, and the rules every command shares."""

from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from services.deals.domain import (
    Deal,
    DealAlreadyExistsError,
    DealNotFoundError,
    DealNotOpenError,
    DealOwnerChanged,
    DealUpdated,
    InvalidCommandError,
    NextStepSet,
    NotAllowedError,
    OpenDeal,
    Role,
    UnknownPipelineError,
    UpdateDeal,
    decide,
    evolve,
    get_pipeline,
)

from .builders import (
    ACCOUNT_ID,
    DEAL_ID,
    LATER,
    OPENED,
    OTHER_REP,
    OWNER,
    T0,
    cmd,
    given,
    won_story,
)


def open_deal(role: Role = Role.REP, **changes: object) -> OpenDeal:
    fields = {
        "account_id": ACCOUNT_ID,
        "title": "  华东电网 substation monitoring ",
        "owner_id": OWNER,
        "amount": Decimal("1000000"),
        "currency": "CNY",
        "expected_close_date": date(2026, 9, 30),
        "source": "referral",
    } | changes
    return cmd(OpenDeal, role, at=T0, **fields)


# --- open -------------------------------------------------------------------------------


def test_open_starts_in_the_first_stage_with_its_defaults():
    assert decide(Deal(), open_deal()) == [OPENED]


def test_open_folds_into_version_one_with_weighted_amount():
    deal = given(OPENED)
    assert deal.exists and deal.version == 1
    assert (deal.stage, deal.status, deal.probability) == ("prospecting", "open", Decimal(10))
    assert deal.weighted_amount == Decimal("100000.00")
    assert deal.stage_history[0].entered_at == T0
    assert deal.last_activity_at == T0


def test_open_on_another_pipeline_uses_its_first_stage():
    [event] = decide(Deal(), open_deal(pipeline="showroom"))
    assert (event.stage, event.probability) == ("development", Decimal(5))


def test_a_custom_pipeline_is_passed_in():
    custom = replace(get_pipeline("customer-development"), code="custom")
    [event] = decide(Deal(), open_deal(pipeline="custom"), custom)
    assert (event.pipeline, event.stage) == ("custom", "identify_target")


def test_open_twice_is_a_conflict():
    with pytest.raises(DealAlreadyExistsError) as err:
        decide(given(OPENED), open_deal())
    assert (err.value.code, err.value.status) == ("deal-already-exists", 409)


def test_a_rep_opens_deals_only_for_themselves():
    with pytest.raises(NotAllowedError):
        decide(Deal(), open_deal(owner_id=OTHER_REP))


@pytest.mark.parametrize("role", [Role.MANAGER, Role.ADMIN, Role.SERVICE])
def test_supervisors_and_services_open_deals_for_anyone(role):
    [event] = decide(Deal(), open_deal(role, owner_id=OTHER_REP))
    assert event.owner_id == OTHER_REP


def test_auditors_never_write():
    with pytest.raises(NotAllowedError) as err:
        decide(Deal(), open_deal(Role.AUDITOR))
    assert (err.value.code, err.value.status) == ("not-allowed", 403)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"title": "  "}, "title"),
        ({"amount": Decimal("-1")}, "amount"),
        ({"amount": Decimal("NaN")}, "amount"),
        ({"currency": "rmb"}, "currency"),
        ({"owner_id": ""}, "owner_id"),
    ],
)
def test_open_refuses_bad_input(changes, field):
    with pytest.raises(InvalidCommandError) as err:
        decide(Deal(), open_deal(Role.MANAGER, **changes))
    assert err.value.status == 422
    assert err.value.extra["field"] == field


def test_open_on_an_unknown_pipeline():
    with pytest.raises(UnknownPipelineError) as err:
        decide(Deal(), open_deal(pipeline="nope"))
    assert (err.value.code, err.value.status) == ("unknown-pipeline", 422)


def test_a_naive_timestamp_is_refused():
    with pytest.raises(InvalidCommandError):
        decide(Deal(), replace(open_deal(), at=datetime(2026, 3, 2, 9, 0)))


def test_commands_on_a_deal_that_was_never_opened():
    with pytest.raises(DealNotFoundError) as err:
        decide(Deal(), cmd(UpdateDeal, title="x"))
    assert (err.value.code, err.value.status) == ("deal-not-found", 404)


def test_a_command_for_another_deal_is_a_programming_error():
    with pytest.raises(ValueError):
        decide(given(OPENED), cmd(UpdateDeal, deal_id=ACCOUNT_ID, title="x"))


def test_event_times_never_go_backwards():
    """A replica whose clock lags a little still records a monotone history."""
    [event] = decide(given(OPENED), cmd(UpdateDeal, at=T0 - timedelta(seconds=3), title="New"))
    assert event.at == T0


# --- update -----------------------------------------------------------------------------


def test_update_records_only_what_changed():
    events = decide(
        given(OPENED),
        cmd(UpdateDeal, title=OPENED.title, amount=Decimal("1200000"), expected_close_date=None),
    )
    assert events == [
        DealUpdated(
            deal_id=DEAL_ID,
            title=None,
            amount=Decimal("1200000"),
            expected_close_date=None,
            at=LATER,
        )
    ]
    deal = evolve(given(OPENED), events[0])
    assert deal.amount == Decimal("1200000")
    assert deal.title == OPENED.title
    assert deal.weighted_amount == Decimal("120000.00")


def test_update_with_the_same_values_records_nothing():
    assert decide(given(OPENED), cmd(UpdateDeal, amount=Decimal("1000000.00"))) == []


def test_update_with_nothing_is_invalid():
    with pytest.raises(InvalidCommandError):
        decide(given(OPENED), cmd(UpdateDeal))


def test_next_step_with_due_date_then_cleared():
    step = decide(
        given(OPENED), cmd(UpdateDeal, next_step="约总工现场考察", next_step_due=date(2026, 4, 1))
    )
    assert step == [
        NextStepSet(deal_id=DEAL_ID, next_step="约总工现场考察", due=date(2026, 4, 1), at=LATER)
    ]
    deal = given(OPENED, *step)
    assert (deal.next_step, deal.next_step_due) == ("约总工现场考察", date(2026, 4, 1))
    cleared = decide(deal, cmd(UpdateDeal, next_step=""))
    assert cleared == [NextStepSet(deal_id=DEAL_ID, next_step=None, due=None, at=LATER)]


def test_a_due_date_needs_a_next_step():
    with pytest.raises(InvalidCommandError):
        decide(given(OPENED), cmd(UpdateDeal, next_step_due=date(2026, 4, 1)))


def test_reps_change_only_their_own_deals():
    with pytest.raises(NotAllowedError):
        decide(given(OPENED), cmd(UpdateDeal, actor=OTHER_REP, title="mine now"))


@pytest.mark.parametrize("role", [Role.MANAGER, Role.ADMIN])
def test_supervisors_change_any_deal_and_its_owner(role):
    events = decide(given(OPENED), cmd(UpdateDeal, role, title="Renamed", owner_id=OTHER_REP))
    assert [type(e) for e in events] == [DealUpdated, DealOwnerChanged]
    assert events[1] == DealOwnerChanged(
        deal_id=DEAL_ID, previous_owner_id=OWNER, owner_id=OTHER_REP, at=LATER
    )
    assert given(OPENED, *events).owner_id == OTHER_REP


def test_the_owner_cannot_hand_the_deal_over():
    with pytest.raises(NotAllowedError):
        decide(given(OPENED), cmd(UpdateDeal, owner_id=OTHER_REP))


def test_a_service_writes_like_a_rep():
    with pytest.raises(NotAllowedError):
        decide(given(OPENED), cmd(UpdateDeal, Role.SERVICE, title="imported"))


def test_auditors_cannot_update():
    with pytest.raises(NotAllowedError):
        decide(given(OPENED), cmd(UpdateDeal, Role.AUDITOR, title="x"))


def test_a_won_deal_amount_follows_its_contract():
    won = won_story().state
    with pytest.raises(DealNotOpenError) as err:
        decide(won, cmd(UpdateDeal, amount=Decimal(1)))
    assert (err.value.code, err.value.status) == ("deal-not-open", 409)
    # …but the rest of the deal can still be edited.
    assert decide(won, cmd(UpdateDeal, title="Phase 1"))
