"""Pure parts of the shared library: fold, codec, canonical hashing, cursors, tokens."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum, StrEnum
from uuid import UUID, uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.aggregates import EventCodec
from shared.eventstore import Cursor, RecordedEvent, fold
from shared.eventstore.canonical import canonical_json, chain_hash, event_body
from shared.eventstore.verify import ChainChecker
from shared.http.auth import Role, decode_token, issue_token
from shared.http.problems import Problem
from shared.serde import from_data, to_data
from tests.support.counter import COUNTER, Added, Closed, Counter, Opened

# -- fold over random event sequences of the example aggregate ---------------

counter_events = st.lists(
    st.one_of(
        st.builds(Added, n=st.integers(min_value=0, max_value=1000)),
        st.just(Closed()),
        st.builds(Opened, by=st.text(max_size=5)),
    ),
    max_size=50,
)


@given(counter_events)
def test_fold_equals_stepwise_application(events) -> None:
    state = Counter("c")
    for e in events:
        state = COUNTER.evolve(state, e)
    assert fold(events, Counter("c"), COUNTER.evolve) == state


@given(counter_events, st.integers(min_value=0, max_value=50))
def test_fold_of_a_prefix_then_the_rest_equals_fold_of_all(events, cut) -> None:
    head = fold(events[:cut], Counter("c"), COUNTER.evolve)
    assert fold(events[cut:], head, COUNTER.evolve) == fold(events, Counter("c"), COUNTER.evolve)


@given(counter_events)
def test_total_is_the_sum_of_added_and_codec_round_trips(events) -> None:
    state = fold(events, Counter("c"), COUNTER.evolve)
    assert state.total == sum(e.n for e in events if isinstance(e, Added))
    assert state.closed == any(isinstance(e, Closed) for e in events)
    for e in events:
        new = COUNTER.codec.encode(e)
        recorded = _recorded(new.type, new.data)
        assert COUNTER.codec.decode(recorded) == e


def _recorded(kind: str, data: dict) -> RecordedEvent:
    return RecordedEvent(
        1, 1, "c", "counter", 1, uuid4(), kind, 1, data, {}, datetime.now(UTC), b""
    )


# -- serde ---------------------------------------------------------------------


class Colour(StrEnum):
    RED = "red"


@dataclass(frozen=True)
class Line:
    sku: str
    price: Decimal


@dataclass(frozen=True)
class Everything:
    id: UUID
    when: datetime
    day: date
    amount: Decimal
    colour: Colour
    lines: tuple[Line, ...]
    note: str | None = None


def test_serde_round_trip_keeps_types_and_never_uses_floats() -> None:
    value = Everything(
        uuid4(),
        datetime(2026, 3, 31, 8, 0, tzinfo=UTC),
        date(2026, 4, 1),
        Decimal("1250000.00"),
        Colour.RED,
        (Line("A-1", Decimal("10.50")),),
    )
    data = to_data(value)
    assert data["amount"] == "1250000.00" and data["when"] == "2026-03-31T08:00:00Z"
    assert data["lines"] == [{"sku": "A-1", "price": "10.50"}]
    assert from_data(Everything, data) == value


@dataclass(frozen=True)
class Node:
    name: str
    children: tuple[Node, ...] = ()
    tags: dict[str, Colour] | None = None


class Level(Enum):
    LOW = 1


def test_serde_handles_nesting_optionals_and_enums_of_every_kind() -> None:
    tree = Node("root", (Node("a", tags={"x": Colour.RED}), Node("b")))
    data = to_data(tree)
    assert data["children"][0] == {"name": "a", "children": [], "tags": {"x": "red"}}
    assert data["tags"] is None
    assert from_data(Node, data) == tree
    assert to_data(Colour.RED) is Colour.RED  # a str enum is already JSON text
    assert to_data(Level.LOW) == 1 and from_data(Level, 1) is Level.LOW
    assert to_data({1: True}) == {"1": True}
    assert from_data(Decimal | None, None) is None
    assert from_data(datetime, "2026-03-31T08:00:00") == datetime(2026, 3, 31, 8, tzinfo=UTC)
    with pytest.raises(TypeError, match="cannot serialise float"):
        to_data({"price": 1.5})


def test_unknown_event_type_is_reported() -> None:
    with pytest.raises(LookupError):
        EventCodec({}).decode(_recorded("Nope", {}))


# -- canonical bodies and the offline chain checker ----------------------------


def _row(version: int, data: dict, previous: bytes | None) -> tuple[dict, bytes]:
    fields = {
        "stream_id": "s",
        "stream_type": "deal",
        "version": version,
        "event_id": str(UUID(int=version)),
        "event_type": "X",
        "schema_version": 1,
        "data": data,
        "metadata": {"actor": "u"},
        "recorded_at": datetime(2026, 1, 1, tzinfo=UTC),
    }
    digest = chain_hash(previous, event_body(**fields))
    return {**fields, "position": version, "hash": digest}, digest


def test_chain_checker_accepts_intact_and_names_altered_links() -> None:
    first, h1 = _row(1, {"n": 1}, None)
    second, _ = _row(2, {"n": 2}, h1)
    checker = ChainChecker()
    assert checker.feed(first) and checker.feed(second)
    assert checker.finish().ok

    altered = {**second, "data": {"n": 3}}
    checker = ChainChecker()
    checker.feed(first)
    assert not checker.feed(altered)
    assert checker.finish().broken.version == 2


def test_canonical_body_is_independent_of_key_order() -> None:
    a, _ = _row(1, {"x": 1, "y": "中文"}, None)
    b, _ = _row(1, {"y": "中文", "x": 1}, None)
    assert a["hash"] == b["hash"]


# -- cursors and tokens ---------------------------------------------------------


@given(st.integers(0, 2**62), st.integers(0, 2**62))
def test_cursor_round_trips(tx, pos) -> None:
    cursor = Cursor(tx, pos)
    assert Cursor.decode(cursor.encode()) == cursor


def test_tokens_carry_subject_and_role_and_reject_other_secrets() -> None:
    token = issue_token("s" * 40, "u-1", Role.MANAGER)
    principal = decode_token("s" * 40, token)
    assert principal.sub == "u-1" and principal.role is Role.MANAGER
    with pytest.raises(Problem) as err:
        decode_token("other" * 10, token)
    assert err.value.status == 401
    expired = issue_token("s" * 40, "u-1", Role.REP, now=datetime(2020, 1, 1, tzinfo=UTC))
    with pytest.raises(Problem):
        decode_token("s" * 40, expired)


# -- canonical JSON is exactly json.dumps' sorted, compact form ---------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_canonical_json_is_json_dumps_sorted_and_compact(value) -> None:
    expected = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert canonical_json(value) == expected


def test_canonical_json_of_values_orjson_cannot_write() -> None:
    assert canonical_json({2: "b", 1: "a"}) == '{"1":"a","2":"b"}'
    assert canonical_json({"n": 2**70, "x": 1.5e-05}) == '{"n":1180591620717411303424,"x":1.5e-05}'
