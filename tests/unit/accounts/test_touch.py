"""Touch: given events, when a command, then events (or an error)."""

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from uuid import UUID

import pytest

from services.accounts.domain import touch
from services.accounts.domain.account import Account
from services.accounts.domain.commands import LogTouch
from services.accounts.domain.contact import Contact
from services.accounts.domain.enums import Channel
from services.accounts.domain.errors import (
    AccountArchivedError,
    AlreadyExistsError,
    InvalidCommandError,
    NotAllowedError,
    NotFoundError,
)
from services.accounts.domain.events import ContactLeft, TouchLogged
from services.accounts.domain.touch import Touch, check_account, check_contacts, decide

from .builders import (
    ACCOUNT_ARCHIVED,
    ACCOUNT_ID,
    AT,
    AUDITOR,
    CONTACT_ADDED,
    CONTACT_ID,
    DEAL_ID,
    NON_OWNER_REP,
    OTHER_ACCOUNT_ID,
    OTHER_REP,
    SERVICE,
    TOUCH_ID,
    given_account,
    given_contact,
)

OCCURRED = AT - timedelta(hours=3)
SECOND_CONTACT = UUID(int=12)


def log_touch(actor: dict = NON_OWNER_REP, **fields: object) -> LogTouch:
    values: dict = {
        "touch_id": TOUCH_ID,
        "account_id": ACCOUNT_ID,
        "contact_ids": (CONTACT_ID,),
        "channel": Channel.SITE_VISIT,
        "occurred_at": OCCURRED,
        "summary": " 陪同总工考察样板工程 ",
        "deal_id": DEAL_ID,
        "next_step": "提交技术方案",
        "next_step_due": date(2026, 3, 9),
    }
    return LogTouch(**(values | fields), **actor)


TOUCH_LOGGED = TouchLogged(
    touch_id=TOUCH_ID,
    account_id=ACCOUNT_ID,
    contact_ids=(CONTACT_ID,),
    channel=Channel.SITE_VISIT,
    occurred_at=OCCURRED,
    summary="陪同总工考察样板工程",
    deal_id=DEAL_ID,
    next_step="提交技术方案",
    next_step_due=date(2026, 3, 9),
    logged_by=OTHER_REP,
    at=AT,
)


def test_any_rep_logs_a_touch_and_is_recorded_as_who_had_it():
    assert decide(Touch(), log_touch()) == [TOUCH_LOGGED]


def test_the_logged_state():
    state = touch.replay([TOUCH_LOGGED])
    assert (state.id, state.version, state.logged_by, state.logged_at) == (
        TOUCH_ID,
        1,
        OTHER_REP,
        AT,
    )
    assert state.contact_ids == (CONTACT_ID,) and state.next_step_due == date(2026, 3, 9)


def test_a_touch_without_deal_or_next_step():
    command = log_touch(SERVICE, deal_id=None, next_step=" ", next_step_due=None)
    [event] = decide(Touch(), command)
    assert (event.deal_id, event.next_step, event.next_step_due) == (None, None, None)
    assert event.logged_by == SERVICE["actor_id"]


def test_occurred_at_is_normalised_to_utc():
    beijing = timezone(timedelta(hours=8))
    [event] = decide(Touch(), log_touch(occurred_at=OCCURRED.astimezone(beijing)))
    assert event.occurred_at == OCCURRED and event.occurred_at.utcoffset() == timedelta(0)


def test_a_touch_is_logged_once():
    with pytest.raises(AlreadyExistsError):
        decide(touch.replay([TOUCH_LOGGED]), log_touch())


def test_an_auditor_cannot_log_a_touch():
    with pytest.raises(NotAllowedError):
        decide(Touch(), log_touch(AUDITOR))


@pytest.mark.parametrize(
    "fields",
    [
        {"contact_ids": ()},
        {"contact_ids": (CONTACT_ID, CONTACT_ID)},
        {"contact_ids": tuple(UUID(int=n) for n in range(100, 151))},
        {"summary": "  "},
        {"summary": "长" * 4001},
        {"occurred_at": datetime(2026, 3, 1, 9, 0)},
        {"occurred_at": AT + timedelta(minutes=6)},
        {"next_step": None},
        {"next_step_due": date(2026, 2, 28)},
    ],
    ids=[
        "no-contact",
        "same-contact-twice",
        "too-many-contacts",
        "blank-summary",
        "long-summary",
        "naive-occurred-at",
        "in-the-future",
        "due-without-next-step",
        "due-before-occurred",
    ],
)
def test_invalid_touches_are_rejected(fields):
    with pytest.raises(InvalidCommandError):
        decide(Touch(), log_touch(**fields))


def test_the_due_date_may_be_the_day_of_the_touch():
    assert len(decide(Touch(), log_touch(next_step_due=OCCURRED.date()))) == 1


def test_occurred_at_may_run_a_little_ahead_of_the_server_clock():
    assert len(decide(Touch(), log_touch(occurred_at=AT + timedelta(minutes=4)))) == 1


@pytest.mark.parametrize("channel", list(Channel))
def test_every_channel_is_accepted(channel):
    assert decide(Touch(), log_touch(channel=channel))[0].channel is channel


# --- other streams (checked by the handler) ---------------------------------------------


def test_a_touch_needs_an_open_account():
    with pytest.raises(NotFoundError):
        check_account(Account(), log_touch())
    with pytest.raises(AccountArchivedError):
        check_account(given_account(ACCOUNT_ARCHIVED), log_touch())
    check_account(given_account(), log_touch())
    with pytest.raises(ValueError):
        check_account(given_account(), log_touch(account_id=OTHER_ACCOUNT_ID))


def test_every_contact_must_exist_and_belong_to_the_account():
    other = given_contact()
    stranger = replace(other, id=SECOND_CONTACT, account_id=OTHER_ACCOUNT_ID)
    check_contacts([other], log_touch())
    with pytest.raises(NotFoundError):
        check_contacts([other, Contact()], log_touch(contact_ids=(CONTACT_ID, SECOND_CONTACT)))
    with pytest.raises(InvalidCommandError):
        check_contacts([other, stranger], log_touch(contact_ids=(CONTACT_ID, SECOND_CONTACT)))


def test_a_contact_who_left_may_still_be_named_in_a_touch():
    left = given_contact(ContactLeft(contact_id=CONTACT_ID, account_id=ACCOUNT_ID, at=AT))
    check_contacts([left], log_touch())


def test_evolve_rejects_foreign_events():
    with pytest.raises(TypeError):
        touch.evolve(Touch(), CONTACT_ADDED)  # type: ignore[arg-type]
