"""Personal data: kept in one value, replaced whole, erasable for good."""

from dataclasses import replace
from datetime import date

import pytest

from services.accounts.domain import contact
from services.accounts.domain.commands import (
    AddContact,
    ErasePersonalData,
    UpdateContact,
)
from services.accounts.domain.contact import Contact, decide
from services.accounts.domain.errors import (
    InvalidCommandError,
    NotAllowedError,
    PersonalDataErasedError,
)
from services.accounts.domain.events import (
    ContactLeft,
    ContactUpdated,
    PersonalDataErased,
)
from services.accounts.domain.personal import PersonalDetails

from .builders import (
    ACCOUNT_ID,
    ADMIN,
    AT,
    CONTACT_ADDED,
    CONTACT_ID,
    MANAGER,
    OWNER_REP,
    PERSONAL,
    SERVICE,
    given_contact,
)

CID = CONTACT_ID
LEFT = ContactLeft(contact_id=CID, account_id=ACCOUNT_ID, at=AT)
ERASED = PersonalDataErased(contact_id=CID, account_id=ACCOUNT_ID, at=AT)


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


def test_personal_details_are_trimmed_and_empty_ones_are_none():
    sloppy = PersonalDetails(email=" a@b.cn ", hometown=" ", interests=("茶", " "))
    [event] = decide(Contact(), add_contact(personal=sloppy))
    assert event.personal == PersonalDetails(email="a@b.cn", interests=("茶",))
    [event] = decide(Contact(), add_contact(personal=PersonalDetails(hometown="  ")))
    assert event.personal is None


@pytest.mark.parametrize(
    "personal",
    [
        PersonalDetails(email="not-an-address"),
        PersonalDetails(phone="call me"),
        PersonalDetails(birthday=date(2026, 3, 3)),
        PersonalDetails(interests=tuple(f"i{n}" for n in range(21))),
        PersonalDetails(family_notes="x" * 4001),
    ],
    ids=["email", "phone", "future-birthday", "too-many-interests", "long-notes"],
)
def test_invalid_personal_details_are_rejected(personal):
    with pytest.raises(InvalidCommandError):
        decide(Contact(), add_contact(personal=personal))


def test_new_personal_details_replace_the_old_ones_whole():
    new = PersonalDetails(phone="021-5555 0000")
    [event] = decide(given_contact(), UpdateContact(contact_id=CID, personal=new, **OWNER_REP))
    assert event.personal == new
    assert contact.evolve(given_contact(), event).personal == new


def test_clearing_personal_details_sends_an_empty_value():
    command = UpdateContact(contact_id=CID, personal=PersonalDetails(), **OWNER_REP)
    [event] = decide(given_contact(), command)
    assert event.personal == PersonalDetails()
    assert contact.evolve(given_contact(), event).personal is None


# --- erasure ----------------------------------------------------------------------------


@pytest.mark.parametrize("actor", [OWNER_REP, SERVICE], ids=["rep", "service"])
def test_only_a_manager_or_admin_erases_personal_data(actor):
    with pytest.raises(NotAllowedError):
        decide(given_contact(), ErasePersonalData(contact_id=CID, **actor))


@pytest.mark.parametrize("actor", [MANAGER, ADMIN], ids=["manager", "admin"])
def test_erasing_personal_data(actor):
    events = decide(given_contact(LEFT), ErasePersonalData(contact_id=CID, **actor))
    assert events == [ERASED]
    state = contact.replay(events, given_contact(LEFT))
    assert state.personal is None and state.personal_erased
    assert (state.name, state.title) == ("张伟", "总工程师")


def test_erasing_twice_records_nothing():
    assert decide(given_contact(ERASED), ErasePersonalData(contact_id=CID, **MANAGER)) == []


def test_after_erasure_personal_details_are_refused_but_other_updates_are_not():
    state = given_contact(ERASED)
    with pytest.raises(PersonalDataErasedError):
        decide(state, UpdateContact(contact_id=CID, title="院长", personal=PERSONAL, **MANAGER))
    with pytest.raises(PersonalDataErasedError):
        decide(state, UpdateContact(contact_id=CID, personal=PersonalDetails(), **MANAGER))
    [event] = decide(state, UpdateContact(contact_id=CID, title="院长", **OWNER_REP))
    assert contact.evolve(state, event).title == "院长"


def test_personal_details_never_come_back_after_erasure_even_from_the_log():
    stray = ContactUpdated(
        contact_id=CID,
        account_id=ACCOUNT_ID,
        name=None,
        title=None,
        department=None,
        personal=PERSONAL,
        at=AT,
    )
    assert given_contact(ERASED, stray).personal is None


def test_a_shredded_contact_added_event_folds_without_personal_details():
    # After crypto-shredding the infrastructure hands ContactAdded back with personal=None.
    state = contact.replay([replace(CONTACT_ADDED, personal=None), ERASED])
    assert state.personal is None and state.personal_erased and state.name == "张伟"
