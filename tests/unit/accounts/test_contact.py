"""Contact: given events, when a command, then events (or an error)."""

import pytest

from services.accounts.domain import contact
from services.accounts.domain.account import Account
from services.accounts.domain.commands import (
    AddContact,
    AssignBuyingRole,
    ErasePersonalData,
    MarkContactLeft,
    RemoveBuyingRole,
    UpdateContact,
)
from services.accounts.domain.contact import Contact, HeldRole, check_account, decide
from services.accounts.domain.enums import BuyingRole
from services.accounts.domain.errors import (
    AccountArchivedError,
    AlreadyExistsError,
    ContactLeftError,
    InvalidCommandError,
    NotAllowedError,
    NotFoundError,
)
from services.accounts.domain.events import (
    BuyingRoleAssigned,
    BuyingRoleRemoved,
    ContactAdded,
    ContactLeft,
    ContactUpdated,
)

from .builders import (
    ACCOUNT_ARCHIVED,
    ACCOUNT_ID,
    AT,
    AUDITOR,
    CONTACT_ADDED,
    CONTACT_ID,
    DEAL_ID,
    MANAGER,
    NON_OWNER_REP,
    OTHER_ACCOUNT_ID,
    OWNER_REP,
    PERSONAL,
    SERVICE,
    given_account,
    given_contact,
)

CID = CONTACT_ID
LEFT = ContactLeft(contact_id=CID, account_id=ACCOUNT_ID, at=AT)


def add_contact(actor: dict = OWNER_REP, **fields: object) -> AddContact:
    values: dict = {
        "contact_id": CID,
        "account_id": ACCOUNT_ID,
        "name": " 张伟 ",
        "title": "总工程师",
        "department": "技术部",
        "personal": PERSONAL,
    }
    return AddContact(**(values | fields), **actor)


def assign(actor: dict = OWNER_REP, **fields: object) -> AssignBuyingRole:
    values: dict = {
        "contact_id": CID,
        "role": BuyingRole.ECONOMIC_BUYER,
        "influence": 5,
        "support": 1,
        "deal_id": DEAL_ID,
    }
    return AssignBuyingRole(**(values | fields), **actor)


def assigned(**fields: object) -> BuyingRoleAssigned:
    values: dict = {
        "contact_id": CID,
        "account_id": ACCOUNT_ID,
        "role": BuyingRole.ECONOMIC_BUYER,
        "deal_id": DEAL_ID,
        "influence": 5,
        "support": 1,
        "at": AT,
    }
    return BuyingRoleAssigned(**(values | fields))


def every_change(actor: dict) -> list[object]:
    return [
        UpdateContact(contact_id=CID, title="副院长", **actor),
        assign(actor),
        RemoveBuyingRole(contact_id=CID, role=BuyingRole.COACH, **actor),
        MarkContactLeft(contact_id=CID, **actor),
        ErasePersonalData(contact_id=CID, **actor),
    ]


def kind(command: object) -> str:
    return type(command).__name__


# --- adding -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "actor",
    [OWNER_REP, NON_OWNER_REP, MANAGER, SERVICE],
    ids=["owner", "other-rep", "manager", "service"],
)
def test_any_writer_adds_a_contact_with_personal_details(actor):
    assert decide(Contact(), add_contact(actor)) == [CONTACT_ADDED]


def test_the_added_state_keeps_personal_details_apart():
    state = given_contact()
    assert (state.id, state.account_id, state.name, state.version) == (CID, ACCOUNT_ID, "张伟", 1)
    assert state.personal == PERSONAL and not state.personal_erased and not state.left


def test_a_contact_needs_a_name():
    with pytest.raises(InvalidCommandError):
        decide(Contact(), add_contact(name=" "))


def test_a_contact_is_added_once():
    with pytest.raises(AlreadyExistsError):
        decide(given_contact(), add_contact())


def test_an_auditor_cannot_add_a_contact():
    with pytest.raises(NotAllowedError):
        decide(Contact(), add_contact(AUDITOR))


# --- the account they belong to (checked by the handler) --------------------------------


def test_contacts_of_a_missing_or_archived_account_do_not_change():
    with pytest.raises(NotFoundError):
        check_account(Account(), add_contact())
    archived = given_account(ACCOUNT_ARCHIVED)
    for command in [add_contact(), *every_change(MANAGER)[:-1]]:
        with pytest.raises(AccountArchivedError):
            check_account(archived, command)
    check_account(given_account(), add_contact())


def test_personal_data_can_be_erased_even_when_the_account_is_archived():
    check_account(given_account(ACCOUNT_ARCHIVED), ErasePersonalData(contact_id=CID, **MANAGER))


def test_a_contact_checked_against_another_account_is_a_wiring_bug():
    with pytest.raises(ValueError):
        check_account(given_account(), add_contact(account_id=OTHER_ACCOUNT_ID))


# --- rules for every change -------------------------------------------------------------


@pytest.mark.parametrize("command", every_change(MANAGER), ids=kind)
def test_no_change_to_a_contact_that_does_not_exist(command):
    with pytest.raises(NotFoundError):
        decide(Contact(), command)


@pytest.mark.parametrize("command", every_change(AUDITOR), ids=kind)
def test_auditors_never_write(command):
    with pytest.raises(NotAllowedError):
        decide(given_contact(), command)


# --- update -----------------------------------------------------------------------------


def test_an_update_records_only_what_changed():
    command = UpdateContact(contact_id=CID, name="张伟", title=" 副院长 ", **NON_OWNER_REP)
    events = decide(given_contact(), command)
    assert events == [
        ContactUpdated(
            contact_id=CID,
            account_id=ACCOUNT_ID,
            name=None,
            title="副院长",
            department=None,
            personal=None,
            at=AT,
        )
    ]
    state = contact.replay(events, given_contact())
    assert (state.title, state.personal, state.version) == ("副院长", PERSONAL, 2)


def test_an_update_to_the_same_values_records_nothing():
    command = UpdateContact(contact_id=CID, name="张伟", personal=PERSONAL, **OWNER_REP)
    assert decide(given_contact(), command) == []


def test_an_empty_update_is_invalid():
    with pytest.raises(InvalidCommandError):
        decide(given_contact(), UpdateContact(contact_id=CID, **OWNER_REP))


def test_a_contact_who_left_can_still_be_updated():
    command = UpdateContact(contact_id=CID, department="已离职", **OWNER_REP)
    assert len(decide(given_contact(LEFT), command)) == 1


# --- buying roles -----------------------------------------------------------------------


def test_assigning_a_buying_role():
    events = decide(given_contact(), assign())
    assert events == [assigned()]
    state = contact.replay(events, given_contact())
    assert state.roles == (
        HeldRole(
            role=BuyingRole.ECONOMIC_BUYER, deal_id=DEAL_ID, influence=5, support=1, assigned_at=AT
        ),
    )


def test_a_role_per_deal_and_a_general_role_are_held_side_by_side():
    state = given_contact(assigned(), assigned(role=BuyingRole.COACH, deal_id=None, support=2))
    assert [(r.role, r.deal_id) for r in state.roles] == [
        (BuyingRole.ECONOMIC_BUYER, DEAL_ID),
        (BuyingRole.COACH, None),
    ]


def test_assigning_a_held_role_again_replaces_influence_and_support():
    [event] = decide(given_contact(assigned()), assign(influence=3, support=-2))
    state = contact.evolve(given_contact(assigned()), event)
    assert [(r.influence, r.support) for r in state.roles] == [(3, -2)]


def test_the_same_assignment_again_records_nothing():
    assert decide(given_contact(assigned()), assign()) == []


@pytest.mark.parametrize(
    "fields",
    [{"influence": 0}, {"influence": 6}, {"support": -3}, {"support": 3}, {"influence": True}],
    ids=str,
)
def test_influence_is_1_to_5_and_support_minus_2_to_2(fields):
    with pytest.raises(InvalidCommandError):
        decide(given_contact(), assign(**fields))


@pytest.mark.parametrize(("influence", "support"), [(1, -2), (5, 2)])
def test_the_bounds_themselves_are_allowed(influence, support):
    assert len(decide(given_contact(), assign(influence=influence, support=support))) == 1


def test_a_contact_who_left_gets_no_new_roles():
    with pytest.raises(ContactLeftError):
        decide(given_contact(LEFT), assign())
    with pytest.raises(ContactLeftError):
        decide(given_contact(assigned(), LEFT), assign(influence=2))


def test_removing_a_role():
    command = RemoveBuyingRole(
        contact_id=CID, role=BuyingRole.ECONOMIC_BUYER, deal_id=DEAL_ID, **OWNER_REP
    )
    events = decide(given_contact(assigned(), LEFT), command)
    assert events == [
        BuyingRoleRemoved(
            contact_id=CID,
            account_id=ACCOUNT_ID,
            role=BuyingRole.ECONOMIC_BUYER,
            deal_id=DEAL_ID,
            at=AT,
        )
    ]
    assert contact.replay(events, given_contact(assigned())).roles == ()


def test_removing_a_role_not_held_is_not_found():
    command = RemoveBuyingRole(contact_id=CID, role=BuyingRole.ECONOMIC_BUYER, **OWNER_REP)
    with pytest.raises(NotFoundError):
        decide(given_contact(assigned()), command)  # held for DEAL_ID, not in general


# --- leaving ----------------------------------------------------------------------------


def test_marking_a_contact_as_left_keeps_them_readable():
    events = decide(given_contact(assigned()), MarkContactLeft(contact_id=CID, **OWNER_REP))
    assert events == [LEFT]
    state = contact.replay(events, given_contact(assigned()))
    assert state.left and state.name == "张伟" and len(state.roles) == 1


def test_a_contact_leaves_once():
    with pytest.raises(ContactLeftError):
        decide(given_contact(LEFT), MarkContactLeft(contact_id=CID, **OWNER_REP))


def test_evolve_rejects_foreign_events():
    with pytest.raises(TypeError):
        contact.evolve(Contact(), ContactAdded)  # type: ignore[arg-type]
