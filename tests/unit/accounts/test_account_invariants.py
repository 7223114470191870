"""Account invariants under random command sequences."""

from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from services.accounts.domain import account
from services.accounts.domain.actor import SUPERVISOR_ROLES
from services.accounts.domain.assessment import DimensionScore
from services.accounts.domain.commands import (
    ArchiveAccount,
    AssessRelationship,
    GradeAccount,
    OpenAccount,
    SetAccountTier,
    SetRelationship,
    UpdateAccount,
)
from services.accounts.domain.enums import Grade, RelationshipType, Role, Scope, Tier
from services.accounts.domain.events import AccountArchived, AccountOpened

from .builders import ACCOUNT_ID, OWNER
from .strategies import FAST, command, maybe_texts, owners, run, texts

scores = st.builds(
    DimensionScore,
    dimension=st.sampled_from(["trust", "Trust", "access", "满意度", " "]),
    score=st.integers(1, 5) | st.integers(-1, 7),
)
account_changes = st.one_of(
    command(
        OpenAccount,
        account_id=st.just(ACCOUNT_ID),
        name=texts,
        region=st.sampled_from(["华东", "华南", ""]),
        scope=st.sampled_from(Scope),
        owner_id=owners,
    ),
    command(
        UpdateAccount,
        account_id=st.just(ACCOUNT_ID),
        name=maybe_texts,
        industry=maybe_texts,
        region=st.none() | st.sampled_from(["华东", "华北", " "]),
        scope=st.none() | st.sampled_from(Scope),
        owner_id=st.none() | owners,
    ),
    command(
        GradeAccount, account_id=st.just(ACCOUNT_ID), grade=st.sampled_from(Grade), reason=texts
    ),
    command(
        SetAccountTier, account_id=st.just(ACCOUNT_ID), tier=st.sampled_from(Tier), reason=texts
    ),
    command(
        SetRelationship,
        account_id=st.just(ACCOUNT_ID),
        relationship=st.sampled_from(RelationshipType),
        reason=maybe_texts,
    ),
    command(
        AssessRelationship,
        account_id=st.just(ACCOUNT_ID),
        scores=(st.lists(scores, max_size=4, unique_by=lambda line: line.dimension)).map(tuple),
        notes=texts,
    ),
)
# Archiving ends a sequence's interesting part, so it is drawn less often than the rest.
account_commands = st.one_of(
    account_changes,
    account_changes,
    account_changes,
    command(ArchiveAccount, account_id=st.just(ACCOUNT_ID), reason=maybe_texts),
)


def check_account(before: account.Account, cmd: Any, after: account.Account) -> None:
    assert not before.archived, "an archived account never changes"
    assert cmd.actor_role is not Role.AUDITOR
    if before.exists and cmd.actor_role not in SUPERVISOR_ROLES:
        assert cmd.actor_id == before.owner_id
    if after.owner_id != before.owner_id and before.exists:
        assert cmd.actor_role in SUPERVISOR_ROLES
    assert after.id == ACCOUNT_ID
    for text in (after.name, after.region, after.owner_id):
        assert text and text == text.strip()
    assert (after.grade is None) == (after.grade_reason is None)
    assert (after.tier is None) == (after.tier_reason is None)
    assert all(r is None or r.strip() for r in (after.grade_reason, after.tier_reason))
    if after.last_assessment is not None:
        assert all(1 <= line.score <= 5 for line in after.last_assessment.scores)
        assert 1 <= after.last_assessment.overall <= 5


OPENED = account.replay(
    [
        AccountOpened(
            account_id=ACCOUNT_ID,
            name="n",
            industry="",
            region="r",
            scope=Scope.NATIONAL,
            owner_id=OWNER,
            at=datetime(2026, 1, 1, tzinfo=UTC),
        )
    ]
)
ARCHIVED = account.evolve(
    OPENED, AccountArchived(account_id=ACCOUNT_ID, reason=None, at=datetime(2026, 1, 2, tzinfo=UTC))
)


@FAST
@given(st.sampled_from([OPENED, account.Account()]), st.lists(account_commands, max_size=30))
def test_account_sequences_keep_their_invariants(state, commands):
    run(account.decide, account.evolve, state, commands, check_account)


@FAST
@given(st.lists(account_commands, max_size=20))
def test_an_archived_account_refuses_everything(commands):
    state = ARCHIVED
    final, appended = run(account.decide, account.evolve, state, commands, check_account)
    assert final == state and appended == 0
