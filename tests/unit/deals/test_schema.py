"""The shape rules the rest of the system relies on: event names, serializable field
types, frozen messages, one error hierarchy, and a pure standard-library core."""

import ast
import dataclasses
import re
import sys
import types
import typing
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from uuid import UUID

import pytest

import services.deals.domain as domain
from services.deals.domain import DEAL_COMMANDS, DEAL_EVENTS, EVENT_TYPES, DealError, events

SCALARS = (str, int, bool, Decimal, date, datetime, UUID)
DOMAIN_DIR = Path(domain.__file__).parent


def problems(tp: object, where: str, nested: bool = False) -> list[str]:
    """Why ``tp`` is not a type the generic serializer maps; empty when it is."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (types.UnionType, typing.Union):
        rest = [a for a in args if a is not type(None)]
        if len(rest) != 1 or len(args) != 2:
            return [f"{where}: only 'X | None' unions"]
        return problems(rest[0], where, nested)
    if origin is tuple:
        if len(args) != 2 or args[1] is not Ellipsis:
            return [f"{where}: tuples must be tuple[X, ...]"]
        item = args[0]
        if dataclasses.is_dataclass(item) and not nested:
            if not item.__dataclass_params__.frozen:
                return [f"{where}: {item.__name__} is not frozen"]
            hints = typing.get_type_hints(item)
            return [p for n, t in hints.items() for p in problems(t, f"{where}.{n}", True)]
        return problems(item, where, nested)
    if isinstance(tp, type) and (issubclass(tp, StrEnum) or tp in SCALARS):
        return []
    return [f"{where}: {tp!r} is not serializable"]


@pytest.mark.parametrize("kind", DEAL_EVENTS + DEAL_COMMANDS, ids=lambda k: k.__name__)
def test_fields_have_serializable_types(kind):
    hints = typing.get_type_hints(kind)
    assert [p for n, t in hints.items() for p in problems(t, f"{kind.__name__}.{n}")] == []


def test_event_types_name_every_event():
    declared = {
        obj
        for obj in vars(events).values()
        if isinstance(obj, type) and issubclass(obj, events.Event) and obj is not events.Event
    }
    assert set(EVENT_TYPES.values()) == declared == set(DEAL_EVENTS)
    assert all(name == cls.__name__ for name, cls in EVENT_TYPES.items())


def test_events_are_past_tense_and_commands_imperative():
    assert all(re.search(r"(ed|en|Set|Sent|Lost|Won)$", name) for name in EVENT_TYPES)
    assert not any(re.search(r"ed$", k.__name__) for k in DEAL_COMMANDS)


@pytest.mark.parametrize("kind", DEAL_EVENTS + DEAL_COMMANDS, ids=lambda k: k.__name__)
def test_messages_are_frozen(kind):
    assert kind.__dataclass_params__.frozen


def all_errors() -> list[type[DealError]]:
    found, todo = [], [DealError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found[1:]


def test_one_error_hierarchy_with_stable_codes_and_status_hints():
    errors = all_errors()
    assert len(errors) >= 20
    codes = [e.code for e in errors]
    assert len(set(codes)) == len(codes), "codes must be unique"
    for e in errors:
        assert e.__name__.endswith("Error")
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", e.code)
        assert e.status in {403, 404, 409, 422}
        assert getattr(domain, e.__name__) is e, "exported from the domain package"


def test_the_core_imports_only_the_standard_library():
    for module in DOMAIN_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names, f"{module.name} imports {name}"


def test_no_module_is_too_long():
    for module in DOMAIN_DIR.glob("*.py"):
        assert len(module.read_text().splitlines()) <= 330, module.name
