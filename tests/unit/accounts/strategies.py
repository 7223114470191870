"""Hypothesis strategies and the sequence runner shared by the invariant tests.

Commands are drawn with mostly valid values, so that sequences get far; the rest
probe the rules. ``run`` decides and folds one command at a time, as the handler
would; commands the domain refuses (an ``AccountsError``) change nothing.
"""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from hypothesis import settings
from hypothesis import strategies as st

from services.accounts.domain.enums import Role
from services.accounts.domain.errors import AccountsError

from .builders import DEAL_ID, OTHER_REP, OWNER

SECOND_CONTACT = UUID(int=12)
FAST = settings(max_examples=200, deadline=None, database=None)

ACTORS = [
    (OWNER, Role.REP),
    (OTHER_REP, Role.REP),
    ("mgr-1", Role.MANAGER),
    ("adm-1", Role.ADMIN),
    ("aud-1", Role.AUDITOR),
    (OWNER, Role.AUDITOR),
    ("svc-import", Role.SERVICE),
]
actors = st.sampled_from([(OWNER, Role.REP), ("mgr-1", Role.MANAGER)]) | st.sampled_from(ACTORS)
moments = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(UTC)
)
texts = (
    st.sampled_from(["理由", " 年度复评 ", "Acme"])
    | st.sampled_from(["", "  "])
    | st.text(max_size=6)
)
maybe_texts = st.none() | texts
deals = st.sampled_from([None, DEAL_ID])
owners = st.sampled_from([OWNER, OTHER_REP, "mgr-1", " "])


def command(cls: type, **fields: Any) -> st.SearchStrategy[Any]:
    """``cls`` built from ``fields`` plus a random actor and moment."""

    def build(actor: tuple[str, Role], at: datetime, **values: Any) -> Any:
        return cls(actor_id=actor[0], actor_role=actor[1], at=at, **values)

    return st.builds(build, actors, moments, **fields)


def run(
    decide: Callable, evolve: Callable, state: Any, commands: list, check: Callable
) -> tuple[Any, int]:
    """Decide and fold each command; ``check(before, command, after)`` after every event."""
    start, appended = state.version, 0
    for cmd in commands:
        try:
            events = decide(state, cmd)
        except AccountsError:
            continue
        assert decide(state, cmd) == events  # deterministic
        for event in events:
            after = evolve(state, event)
            assert after.version == state.version + 1
            check(state, cmd, after)
            state = after
            appended += 1
    assert state.version == start + appended
    return state, appended
