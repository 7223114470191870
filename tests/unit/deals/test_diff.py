"""Comparing two presented deal states, and naming the events behind each change."""

import copy
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from services.deals.domain.state_diff import Change, ChangeKind, Member, Step, changes, diff

Q1, Q2 = "00000000-0000-0000-0000-000000000041", "00000000-0000-0000-0000-000000000042"


def quote(quote_id: str, status: str = "draft", versions: int = 1) -> dict[str, Any]:
    return {
        "quote_id": quote_id,
        "status": status,
        "versions": [{"version": n, "status": status} for n in range(1, versions + 1)],
    }


DEAL = {
    "id": "d-1",
    "version": 3,
    "stage": "prospecting",
    "amount": "1000000.00",
    "initiation_report": {"project_name": None, "project_number": "P-1"},
    "initiation_report_missing": ["project_name"],
    "stage_history": [{"stage": "prospecting", "entered_at": "t0", "left_at": None}],
    "competitors": [{"name": "Acme", "price_position": "lower"}],
    "quotes": [quote(Q1)],
    "loss": None,
    "days_in_stage": 4,
    "last_activity_at": "t3",
}


def with_(state: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {**copy.deepcopy(state), **fields}


def paths(found: list[Change]) -> dict[str, tuple[str, Any, Any]]:
    return {c.path: (c.kind.value, c.before, c.after) for c in found}


# --- diff ------------------------------------------------------------------------------


def test_a_state_against_itself_has_no_changes() -> None:
    assert diff(DEAL, copy.deepcopy(DEAL)) == []


def test_scalars_and_nested_fields_are_named_by_their_path() -> None:
    after = with_(DEAL, stage="initiation", amount="1200000.00")
    after["initiation_report"]["project_name"] = "ERP phase 2"
    assert paths(diff(DEAL, after)) == {
        "stage": ("changed", "prospecting", "initiation"),
        "amount": ("changed", "1000000.00", "1200000.00"),
        "initiation_report.project_name": ("changed", None, "ERP phase 2"),
    }


def test_a_value_that_appears_or_vanishes_is_one_change() -> None:
    lost = {"stage": "proposal", "cause": "bid_lost_price"}
    assert paths(diff(DEAL, with_(DEAL, loss=lost, initiation_report=None))) == {
        "initiation_report": ("changed", DEAL["initiation_report"], None),
        "loss": ("changed", None, lost),
    }
    assert paths(diff({"a": 1}, {"b": 1})) == {"a": ("removed", 1, None), "b": ("added", None, 1)}


def test_quotes_and_competitors_are_compared_member_by_member() -> None:
    after = with_(
        DEAL,
        quotes=[quote(Q1, "sent", versions=2), quote(Q2)],
        competitors=[{"name": "Globex", "price_position": "higher"}],
    )
    assert paths(diff(DEAL, after)) == {
        f"quotes[{Q1}].status": ("changed", "draft", "sent"),
        f"quotes[{Q1}].versions[1].status": ("changed", "draft", "sent"),
        f"quotes[{Q1}].versions[2]": ("added", None, {"version": 2, "status": "sent"}),
        f"quotes[{Q2}]": ("added", None, quote(Q2)),
        "competitors[Acme]": ("removed", DEAL["competitors"][0], None),
        "competitors[Globex]": ("added", None, {"name": "Globex", "price_position": "higher"}),
    }
    [change] = [c for c in diff(DEAL, after) if c.path == f"quotes[{Q1}].status"]
    assert change.keys == ("quotes", Member("quote_id", Q1), "status")


def test_a_list_without_identities_is_compared_by_position() -> None:
    visits = [
        {"stage": "prospecting", "entered_at": "t0", "left_at": "t5"},
        {"stage": "initiation", "entered_at": "t5", "left_at": None},
    ]
    assert paths(diff(DEAL, with_(DEAL, stage_history=visits))) == {
        "stage_history[0].left_at": ("changed", None, "t5"),
        "stage_history[1]": ("added", None, visits[1]),
    }


def test_a_list_of_strings_is_one_value() -> None:
    after = with_(DEAL, initiation_report_missing=[])
    assert paths(diff(DEAL, after)) == {
        "initiation_report_missing": ("changed", ["project_name"], []),
    }


def test_values_equal_in_python_but_not_in_json_differ() -> None:
    assert paths(diff({"a": 1, "b": 0}, {"a": True, "b": 0.0})) == {
        "a": ("changed", 1, True),
        "b": ("changed", 0, 0.0),
    }


# --- changes: who changed what ---------------------------------------------------------


def test_each_change_names_the_events_that_changed_it() -> None:
    advanced = with_(DEAL, version=4, stage="initiation")
    repriced = with_(advanced, version=5, amount="1200000.00")
    renamed = with_(repriced, version=6, stage="proposal")
    found = changes(DEAL, [Step(4, advanced), Step(5, repriced), Step(6, renamed)])
    assert [(c.path, c.versions) for c in found] == [("stage", (4, 6)), ("amount", (5,))]


def test_bookkeeping_fields_are_not_changes() -> None:
    later = with_(DEAL, version=9, days_in_stage=12, last_activity_at="t9")
    assert changes(DEAL, [Step(9, later)]) == []


def test_a_value_changed_and_changed_back_is_no_change() -> None:
    there = with_(DEAL, stage="initiation")
    assert changes(DEAL, [Step(4, there), Step(5, copy.deepcopy(DEAL))]) == []


def test_a_whole_added_quote_names_every_event_that_shaped_it() -> None:
    issued = with_(DEAL, quotes=[quote(Q1), quote(Q2)])
    sent = with_(DEAL, quotes=[quote(Q1), quote(Q2, "sent")])
    other = with_(sent, amount="5.00")
    found = changes(DEAL, [Step(4, issued), Step(5, sent), Step(6, other)])
    assert [(c.path, c.kind, c.versions) for c in found] == [
        ("amount", ChangeKind.CHANGED, (6,)),
        (f"quotes[{Q2}]", ChangeKind.ADDED, (4, 5)),
    ]


def test_a_member_removed_and_added_again_names_both_events() -> None:
    gone = with_(DEAL, competitors=[])
    back = with_(DEAL, competitors=[{"name": "Acme", "price_position": "higher"}])
    [change] = changes(DEAL, [Step(4, gone), Step(5, back)])
    assert (change.path, change.before, change.after, change.versions) == (
        "competitors[Acme].price_position",
        "lower",
        "higher",
        (4, 5),
    )


def test_a_deal_that_did_not_exist_is_compared_from_nothing() -> None:
    opened = with_(DEAL, version=1)
    advanced = with_(opened, version=2, stage="initiation")
    found = {c.path: c for c in changes({}, [Step(1, opened), Step(2, advanced)])}
    assert set(found) == set(DEAL) - {"version", "days_in_stage", "last_activity_at"}
    assert all(c.kind is ChangeKind.ADDED and c.before is None for c in found.values())
    assert (found["stage"].after, found["stage"].versions) == ("initiation", (1, 2))
    assert found["amount"].versions == (1,)


# --- properties ------------------------------------------------------------------------

KEYS = st.text(alphabet="abc", max_size=1)
SCALARS = st.none() | st.booleans() | st.integers(-3, 3) | st.text(alphabet="xy", max_size=2)


def _json(children: st.SearchStrategy) -> st.SearchStrategy:
    named = st.dictionaries(KEYS, children, max_size=3)
    members = st.lists(
        st.tuples(st.sampled_from("pqrs"), named).map(lambda t: {**t[1], "name": t[0]}),
        max_size=3,
        unique_by=lambda m: m["name"],
    )
    return st.lists(children, max_size=3) | st.dictionaries(KEYS, children, max_size=3) | members


JSON = st.recursive(SCALARS, _json, max_leaves=12)
STATES = st.dictionaries(KEYS, JSON, max_size=4)


@given(STATES)
def test_no_state_differs_from_itself(state: dict[str, Any]) -> None:
    assert diff(state, copy.deepcopy(state)) == []


@given(STATES, STATES)
def test_applying_the_changes_to_before_gives_after(
    before: dict[str, Any], after: dict[str, Any]
) -> None:
    assert _canonical(_apply(before, diff(before, after))) == _canonical(after)


@given(st.lists(STATES, min_size=1, max_size=4))
def test_every_change_names_an_event_that_changed_its_value(states: list[dict]) -> None:
    start, *rest = states
    steps = [Step(n, state) for n, state in enumerate(rest, 1)]
    for change in changes(start, steps):
        assert change.versions, change
        assert set(change.versions) <= {s.version for s in steps}


def _apply(value: Any, found: list[Change]) -> Any:
    """``found`` applied to a copy of ``value``: removals last, from the end of a list."""
    value = copy.deepcopy(value)
    for change in [c for c in found if c.kind is not ChangeKind.REMOVED]:
        value = _put(value, change)
    for change in reversed([c for c in found if c.kind is ChangeKind.REMOVED]):
        value = _put(value, change)
    return value


def _put(root: Any, change: Change) -> Any:
    if not change.keys:
        return change.after
    *way, last = change.keys
    parent = root
    for key in way:
        parent = parent[_index(parent, key)]
    if isinstance(last, str):
        if change.kind is ChangeKind.REMOVED:
            del parent[last]
        else:
            parent[last] = change.after
    elif change.kind is ChangeKind.ADDED:
        parent.append(change.after)
    elif change.kind is ChangeKind.REMOVED:
        del parent[_index(parent, last)]
    else:
        parent[_index(parent, last)] = change.after
    return root


def _index(parent: Any, key: str | Member) -> Any:
    if isinstance(key, str):
        return key
    if key.field is None:
        return key.key
    return next(i for i, m in enumerate(parent) if m[key.field] == key.key)


def _canonical(value: Any) -> Any:
    """Members with a name in name order: their order in the list carries no meaning."""
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [_canonical(v) for v in value]
        names = [m.get("name") if isinstance(m, dict) else None for m in items]
        if items and all(isinstance(n, str) for n in names) and len(set(names)) == len(names):
            return sorted(items, key=lambda m: m["name"])
        return items
    return value
