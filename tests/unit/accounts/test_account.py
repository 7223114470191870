"""Account: given events, when a command, then events (or an error)."""

from datetime import datetime, timedelta, timezone

import pytest

from services.accounts.domain import account
from services.accounts.domain.account import Account, decide, ensure_open, name_key
from services.accounts.domain.commands import (
    ArchiveAccount,
    AssessRelationship,
    GradeAccount,
    OpenAccount,
    SetAccountTier,
    SetRelationship,
    UpdateAccount,
)
from services.accounts.domain.enums import Grade, RelationshipType, Scope, Tier
from services.accounts.domain.errors import (
    AccountArchivedError,
    AlreadyExistsError,
    InvalidCommandError,
    NotAllowedError,
    NotFoundError,
)
from services.accounts.domain.events import (
    AccountArchived,
    AccountGraded,
    AccountUpdated,
)

from .builders import (
    ACCOUNT_ARCHIVED,
    ACCOUNT_ID,
    ACCOUNT_OPENED,
    ADMIN,
    AT,
    AUDITOR,
    MANAGER,
    NON_OWNER_REP,
    OTHER_ACCOUNT_ID,
    OTHER_REP,
    OWNER,
    OWNER_REP,
    SCORES,
    SERVICE,
    by,
    given_account,
)


def open_account(actor: dict = OWNER_REP, **fields: object) -> OpenAccount:
    values: dict = {
        "account_id": ACCOUNT_ID,
        "name": " 华东电力设计院 ",
        "industry": "能源",
        "region": "华东",
        "scope": Scope.REGIONAL,
        "owner_id": OWNER,
    }
    return OpenAccount(**(values | fields), **actor)


def every_change(actor: dict) -> list[object]:
    """One valid command of each kind that changes an existing account."""
    aid = ACCOUNT_ID
    return [
        UpdateAccount(account_id=aid, industry="电网", **actor),
        GradeAccount(account_id=aid, grade=Grade.A, reason="年采购额过亿", **actor),
        SetAccountTier(account_id=aid, tier=Tier.VIP, reason="贡献前20%", **actor),
        SetRelationship(account_id=aid, relationship=RelationshipType.PARTNER, **actor),
        AssessRelationship(account_id=aid, scores=SCORES, notes="季度评估", **actor),
        ArchiveAccount(account_id=aid, reason="客户合并", **actor),
    ]


def kind(command: object) -> str:
    return type(command).__name__


# --- opening ----------------------------------------------------------------------------


def test_a_rep_opens_an_account_they_own_with_trimmed_fields():
    assert decide(Account(), open_account()) == [ACCOUNT_OPENED]


@pytest.mark.parametrize("actor", [MANAGER, ADMIN, SERVICE], ids=["manager", "admin", "service"])
def test_supervisors_and_services_open_accounts_for_any_owner(actor):
    [event] = decide(Account(), open_account(actor, owner_id="rep-9"))
    assert event.owner_id == "rep-9"


def test_a_rep_cannot_open_an_account_for_someone_else():
    with pytest.raises(NotAllowedError):
        decide(Account(), open_account(OWNER_REP, owner_id=OTHER_REP))


def test_an_auditor_cannot_open_an_account():
    with pytest.raises(NotAllowedError):
        decide(Account(), open_account(AUDITOR, owner_id=AUDITOR["actor_id"]))


def test_an_account_is_opened_once():
    with pytest.raises(AlreadyExistsError):
        decide(given_account(), open_account())


@pytest.mark.parametrize("field", ["name", "region", "owner_id"])
def test_opening_needs_name_region_and_owner(field):
    with pytest.raises(InvalidCommandError):
        decide(Account(), open_account(MANAGER, **{field: "  "}))


def test_opening_rejects_an_overlong_name():
    with pytest.raises(InvalidCommandError):
        decide(Account(), open_account(name="名" * 201))


def test_commands_need_an_aware_timestamp():
    with pytest.raises(InvalidCommandError):
        decide(Account(), open_account(by(at=datetime(2026, 3, 2, 9, 30))))


def test_timestamps_are_normalised_to_utc():
    beijing = timezone(timedelta(hours=8))
    [event] = decide(Account(), open_account(by(at=AT.astimezone(beijing))))
    assert event.at == AT and event.at.utcoffset() == timedelta(0)


def test_the_opened_state():
    state = given_account()
    assert (state.id, state.version, state.name, state.owner_id) == (
        ACCOUNT_ID,
        1,
        "华东电力设计院",
        OWNER,
    )
    assert state.relationship is RelationshipType.GENERAL
    assert state.grade is None and state.tier is None and not state.archived


# --- rules for every change -------------------------------------------------------------


@pytest.mark.parametrize("command", every_change(OWNER_REP), ids=kind)
def test_no_change_to_an_account_that_does_not_exist(command):
    with pytest.raises(NotFoundError):
        decide(Account(), command)


@pytest.mark.parametrize("command", every_change(MANAGER), ids=kind)
def test_an_archived_account_accepts_no_change(command):
    with pytest.raises(AccountArchivedError):
        decide(given_account(ACCOUNT_ARCHIVED), command)


@pytest.mark.parametrize("command", every_change(AUDITOR), ids=kind)
def test_auditors_never_write(command):
    with pytest.raises(NotAllowedError):
        decide(given_account(), command)


@pytest.mark.parametrize("command", every_change(NON_OWNER_REP) + every_change(SERVICE), ids=kind)
def test_only_the_owner_or_a_supervisor_changes_an_account(command):
    with pytest.raises(NotAllowedError):
        decide(given_account(), command)


@pytest.mark.parametrize("actor", [OWNER_REP, MANAGER, ADMIN], ids=["owner", "manager", "admin"])
def test_owner_manager_and_admin_change_an_account(actor):
    for command in every_change(actor):
        assert len(decide(given_account(), command)) == 1


def test_a_command_decided_on_another_accounts_state_is_a_wiring_bug():
    command = GradeAccount(account_id=OTHER_ACCOUNT_ID, grade=Grade.B, reason="r", **MANAGER)
    with pytest.raises(ValueError):
        decide(given_account(), command)


# --- update -----------------------------------------------------------------------------


def test_an_update_records_only_what_changed():
    command = UpdateAccount(
        account_id=ACCOUNT_ID,
        name="华东电力设计院",
        region=" 华南 ",
        scope=Scope.NATIONAL,
        **OWNER_REP,
    )
    assert decide(given_account(), command) == [
        AccountUpdated(
            account_id=ACCOUNT_ID,
            name=None,
            industry=None,
            region="华南",
            scope=Scope.NATIONAL,
            owner_id=None,
            at=AT,
        )
    ]


def test_an_update_to_the_same_values_records_nothing():
    command = UpdateAccount(account_id=ACCOUNT_ID, name="华东电力设计院", **OWNER_REP)
    assert decide(given_account(), command) == []


def test_an_empty_update_is_invalid():
    with pytest.raises(InvalidCommandError):
        decide(given_account(), UpdateAccount(account_id=ACCOUNT_ID, **OWNER_REP))


def test_an_update_cannot_blank_the_name():
    with pytest.raises(InvalidCommandError):
        decide(given_account(), UpdateAccount(account_id=ACCOUNT_ID, name=" ", **OWNER_REP))


def test_the_owner_cannot_hand_the_account_over():
    command = UpdateAccount(account_id=ACCOUNT_ID, owner_id=OTHER_REP, **OWNER_REP)
    with pytest.raises(NotAllowedError):
        decide(given_account(), command)


def test_a_manager_reassigns_the_owner_and_the_new_owner_takes_over():
    command = UpdateAccount(account_id=ACCOUNT_ID, owner_id=OTHER_REP, **MANAGER)
    [event] = decide(given_account(), command)
    state = account.evolve(given_account(), event)
    assert state.owner_id == OTHER_REP and state.name == "华东电力设计院"
    grade = GradeAccount(account_id=ACCOUNT_ID, grade=Grade.C, reason="萎缩", **NON_OWNER_REP)
    assert len(decide(state, grade)) == 1
    with pytest.raises(NotAllowedError):
        decide(state, GradeAccount(account_id=ACCOUNT_ID, grade=Grade.C, reason="x", **OWNER_REP))


# --- archive ----------------------------------------------------------------------------


def test_archiving_is_final():
    command = ArchiveAccount(account_id=ACCOUNT_ID, reason=" 客户合并 ", **OWNER_REP)
    events = decide(given_account(), command)
    assert events == [AccountArchived(account_id=ACCOUNT_ID, reason="客户合并", at=AT)]
    state = account.replay(events, given_account())
    assert state.archived
    with pytest.raises(AccountArchivedError):
        decide(state, ArchiveAccount(account_id=ACCOUNT_ID, **MANAGER))


# --- helpers used by the handler --------------------------------------------------------


def test_ensure_open():
    ensure_open(given_account())
    with pytest.raises(NotFoundError):
        ensure_open(Account())
    with pytest.raises(AccountArchivedError):
        ensure_open(given_account(ACCOUNT_ARCHIVED))


def test_names_compare_without_case_or_extra_spaces():
    assert name_key("  Acme   Power  Co ") == name_key("acme power co")
    assert name_key("华东 电力") != name_key("华东电力")


def test_evolve_rejects_foreign_events():
    with pytest.raises(TypeError):
        account.evolve(Account(), object())  # type: ignore[arg-type]


def test_every_event_raises_the_version_by_one():
    events = [
        ACCOUNT_OPENED,
        AccountGraded(account_id=ACCOUNT_ID, grade=Grade.B, previous=None, reason="r", at=AT),
        ACCOUNT_ARCHIVED,
    ]
    assert [account.replay(events[:n]).version for n in range(4)] == [0, 1, 2, 3]
