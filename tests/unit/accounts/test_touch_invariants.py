"""Touch invariants under random command sequences."""

from datetime import timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from services.accounts.domain import touch
from services.accounts.domain.commands import LogTouch
from services.accounts.domain.enums import Channel, Role

from .builders import ACCOUNT_ID, CONTACT_ID, TOUCH_ID
from .strategies import FAST, SECOND_CONTACT, actors, deals, maybe_texts, moments, run, texts

contact_ids = st.lists(st.sampled_from([CONTACT_ID, SECOND_CONTACT]), max_size=3)


@st.composite
def touch_commands(draw: st.DrawFn) -> LogTouch:
    """Mostly plausible touches: occurred a little before ``at``, due soon after."""
    actor_id, actor_role = draw(actors)
    at = draw(moments)
    occurred_at = at - draw(st.timedeltas(timedelta(minutes=-10), timedelta(days=30)))
    due = occurred_at.date() + timedelta(days=draw(st.integers(-2, 30)))
    return LogTouch(
        actor_id=actor_id,
        actor_role=actor_role,
        at=at,
        touch_id=TOUCH_ID,
        account_id=ACCOUNT_ID,
        contact_ids=tuple(draw(contact_ids.map(sorted) | contact_ids)),
        channel=draw(st.sampled_from(Channel)),
        occurred_at=occurred_at,
        summary=draw(texts),
        deal_id=draw(deals),
        next_step=draw(maybe_texts),
        next_step_due=draw(st.none() | st.just(due)),
    )


def check_touch(before: touch.Touch, cmd: Any, after: touch.Touch) -> None:
    assert not before.exists and cmd.actor_role is not Role.AUDITOR
    assert after.contact_ids and len(set(after.contact_ids)) == len(after.contact_ids)
    assert after.summary.strip() == after.summary != ""
    assert after.occurred_at is not None and after.logged_at is not None
    assert after.occurred_at <= after.logged_at + touch.CLOCK_SLACK
    if after.next_step_due is not None:
        assert after.next_step and after.next_step_due >= after.occurred_at.date()
    assert after.logged_by == cmd.actor_id


@settings(FAST, max_examples=100)
@given(st.lists(touch_commands(), max_size=5))
def test_touch_sequences_keep_their_invariants(commands):
    _, appended = run(touch.decide, touch.evolve, touch.Touch(), commands, check_touch)
    assert appended <= 1
