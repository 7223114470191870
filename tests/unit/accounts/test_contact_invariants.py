"""Contact invariants under random command sequences."""

from datetime import date
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from services.accounts.domain import contact
from services.accounts.domain.actor import SUPERVISOR_ROLES
from services.accounts.domain.commands import (
    AddContact,
    AssignBuyingRole,
    ErasePersonalData,
    MarkContactLeft,
    RemoveBuyingRole,
    UpdateContact,
)
from services.accounts.domain.enums import BuyingRole, Role
from services.accounts.domain.events import ContactUpdated, PersonalDataErased
from services.accounts.domain.personal import PersonalDetails

from .builders import ACCOUNT_ID, CONTACT_ADDED, CONTACT_ID
from .strategies import FAST, command, deals, maybe_texts, run, texts

personal_details = st.none() | st.builds(
    PersonalDetails,
    email=st.sampled_from([None, "a@b.cn", " ", "bad"]),
    phone=st.sampled_from([None, "+86 138 0000 0000", "x"]),
    birthday=st.none() | st.dates(date(1950, 1, 1), date(2027, 1, 1)),
    hometown=maybe_texts,
    interests=st.lists(texts, max_size=3).map(tuple),
)
contact_changes = st.one_of(
    command(
        AddContact,
        contact_id=st.just(CONTACT_ID),
        account_id=st.just(ACCOUNT_ID),
        name=texts,
        personal=personal_details,
    ),
    command(
        UpdateContact,
        contact_id=st.just(CONTACT_ID),
        name=maybe_texts,
        title=maybe_texts,
        personal=personal_details,
    ),
    command(
        AssignBuyingRole,
        contact_id=st.just(CONTACT_ID),
        role=st.sampled_from(BuyingRole),
        influence=st.integers(-1, 7),
        support=st.integers(-4, 4),
        deal_id=deals,
    ),
    command(
        RemoveBuyingRole,
        contact_id=st.just(CONTACT_ID),
        role=st.sampled_from(BuyingRole),
        deal_id=deals,
    ),
)
# Leaving and erasure are final, so they are drawn less often than the rest.
contact_commands = st.one_of(
    contact_changes,
    contact_changes,
    contact_changes,
    command(MarkContactLeft, contact_id=st.just(CONTACT_ID)),
    command(ErasePersonalData, contact_id=st.just(CONTACT_ID)),
)


def check_contact(before: contact.Contact, cmd: Any, after: contact.Contact) -> None:
    assert cmd.actor_role is not Role.AUDITOR
    if before.personal_erased:
        assert after.personal_erased, "erasure is final"
    if after.personal_erased:
        assert after.personal is None, "erased personal data never reappears"
        assert cmd.actor_role in SUPERVISOR_ROLES or before.personal_erased
    for held in after.roles:
        assert 1 <= held.influence <= 5 and -2 <= held.support <= 2
    keys = [(held.role, held.deal_id) for held in after.roles]
    assert len(keys) == len(set(keys))
    if before.left:
        assert after.left
        assert set(after.roles) <= set(before.roles), "a contact who left gets no new roles"
    assert after.name and after.name == after.name.strip()


@FAST
@given(
    st.sampled_from([contact.replay([CONTACT_ADDED]), contact.Contact()]),
    st.lists(contact_commands, max_size=30),
)
def test_contact_sequences_keep_their_invariants(state, commands):
    run(contact.decide, contact.evolve, state, commands, check_contact)


@FAST
@given(st.lists(st.sampled_from(["update", "erase"]), max_size=12), personal_details)
def test_erased_personal_data_never_reappears_whatever_the_log_holds(steps, personal):
    state = contact.replay([CONTACT_ADDED])
    erased = False
    for step in steps:
        if step == "erase":
            event: Any = PersonalDataErased(
                contact_id=CONTACT_ID, account_id=ACCOUNT_ID, at=CONTACT_ADDED.at
            )
            erased = True
        else:
            event = ContactUpdated(
                contact_id=CONTACT_ID,
                account_id=ACCOUNT_ID,
                name=None,
                title=None,
                department=None,
                personal=personal,
                at=CONTACT_ADDED.at,
            )
        state = contact.evolve(state, event)
        if erased:
            assert state.personal is None and state.personal_erased
