"""Account grade, tier, relationship and assessment: given events, when a command, then events."""

from decimal import Decimal

import pytest

from services.accounts.domain import account
from services.accounts.domain.account import decide
from services.accounts.domain.assessment import Assessment, DimensionScore
from services.accounts.domain.commands import (
    AssessRelationship,
    GradeAccount,
    SetAccountTier,
    SetRelationship,
)
from services.accounts.domain.enums import Grade, RelationshipType, Tier
from services.accounts.domain.errors import (
    InvalidCommandError,
)
from services.accounts.domain.events import (
    AccountGraded,
    AccountTierSet,
    RelationshipAssessed,
    RelationshipSet,
)

from .builders import (
    ACCOUNT_ID,
    AT,
    MANAGER,
    OWNER_REP,
    SCORES,
    given_account,
)

# --- grade, tier, relationship ----------------------------------------------------------


def test_grading_records_the_previous_grade_and_the_reason():
    first = AccountGraded(account_id=ACCOUNT_ID, grade=Grade.B, previous=None, reason="r", at=AT)
    command = GradeAccount(
        account_id=ACCOUNT_ID, grade=Grade.A, reason=" 年采购额过亿 ", **OWNER_REP
    )
    events = decide(given_account(first), command)
    assert events == [
        AccountGraded(
            account_id=ACCOUNT_ID, grade=Grade.A, previous=Grade.B, reason="年采购额过亿", at=AT
        )
    ]
    state = account.replay(events, given_account(first))
    assert (state.grade, state.grade_reason, state.version) == (Grade.A, "年采购额过亿", 3)


def test_regrading_to_the_same_grade_is_recorded_as_a_confirmation():
    first = AccountGraded(account_id=ACCOUNT_ID, grade=Grade.A, previous=None, reason="r", at=AT)
    command = GradeAccount(account_id=ACCOUNT_ID, grade=Grade.A, reason="年度复评", **OWNER_REP)
    assert decide(given_account(first), command)[0].previous is Grade.A


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_grade_needs_a_reason(reason):
    command = GradeAccount(account_id=ACCOUNT_ID, grade=Grade.A, reason=reason, **OWNER_REP)
    with pytest.raises(InvalidCommandError):
        decide(given_account(), command)


def test_setting_the_tier():
    command = SetAccountTier(account_id=ACCOUNT_ID, tier=Tier.GROWTH, reason="MGC", **MANAGER)
    events = decide(given_account(), command)
    assert events == [
        AccountTierSet(account_id=ACCOUNT_ID, tier=Tier.GROWTH, previous=None, reason="MGC", at=AT)
    ]
    state = account.replay(events, given_account())
    assert (state.tier, state.tier_reason) == (Tier.GROWTH, "MGC")


def test_a_tier_needs_a_reason():
    command = SetAccountTier(account_id=ACCOUNT_ID, tier=Tier.LOW_VALUE, reason=" ", **MANAGER)
    with pytest.raises(InvalidCommandError):
        decide(given_account(), command)


def test_setting_the_relationship_with_an_optional_reason():
    command = SetRelationship(
        account_id=ACCOUNT_ID, relationship=RelationshipType.STRATEGIC, reason=" ", **OWNER_REP
    )
    events = decide(given_account(), command)
    assert events == [
        RelationshipSet(
            account_id=ACCOUNT_ID,
            relationship=RelationshipType.STRATEGIC,
            previous=RelationshipType.GENERAL,
            reason=None,
            at=AT,
        )
    ]
    assert account.replay(events, given_account()).relationship is RelationshipType.STRATEGIC


# --- assessment -------------------------------------------------------------------------


def test_an_assessment_records_the_scores_and_their_mean():
    command = AssessRelationship(
        account_id=ACCOUNT_ID, scores=SCORES, notes="季度评估", **OWNER_REP
    )
    events = decide(given_account(), command)
    assert events == [
        RelationshipAssessed(
            account_id=ACCOUNT_ID, scores=SCORES, overall=Decimal("4.00"), notes="季度评估", at=AT
        )
    ]
    state = account.replay(events, given_account())
    assert state.last_assessment == Assessment(
        scores=SCORES, overall=Decimal("4.00"), notes="季度评估", at=AT
    )


@pytest.mark.parametrize(
    ("scores", "overall"), [((1, 2, 2), "1.67"), ((4, 5), "4.50"), ((5,), "5.00")]
)
def test_the_overall_score_is_a_two_decimal_mean(scores, overall):
    lines = tuple(DimensionScore(dimension=f"d{i}", score=s) for i, s in enumerate(scores))
    command = AssessRelationship(account_id=ACCOUNT_ID, scores=lines, **OWNER_REP)
    assert decide(given_account(), command)[0].overall == Decimal(overall)


@pytest.mark.parametrize(
    "scores",
    [
        (),
        (DimensionScore(dimension="trust", score=0),),
        (DimensionScore(dimension="trust", score=6),),
        (DimensionScore(dimension=" ", score=3),),
        (DimensionScore(dimension="Trust", score=3), DimensionScore(dimension="trust ", score=4)),
        tuple(DimensionScore(dimension=f"d{i}", score=3) for i in range(21)),
    ],
    ids=["none", "zero", "six", "blank-dimension", "duplicate", "too-many"],
)
def test_an_assessment_scores_each_dimension_once_from_1_to_5(scores):
    command = AssessRelationship(account_id=ACCOUNT_ID, scores=scores, **OWNER_REP)
    with pytest.raises(InvalidCommandError):
        decide(given_account(), command)
