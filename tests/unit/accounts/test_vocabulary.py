"""The contract the rest of the system relies on: event names and field types, errors,
labels, and a domain that imports nothing but the standard library."""

import ast
import dataclasses
import inspect
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

from services.accounts.domain import EVENT_TYPES, account, commands, contact, errors, events, touch
from services.accounts.domain.enums import (
    SUPPORT_ZH_LABELS,
    ZH_LABELS,
    BuyingRole,
    Channel,
    Grade,
    RelationshipType,
    Role,
    Scope,
    Tier,
    label_zh,
)
from services.accounts.domain.personal import PersonalDetails

DOMAIN = Path(account.__file__).parent
SCALARS = (str, int, bool, Decimal, date, datetime, UUID)

EXPECTED_EVENTS = {
    "AccountOpened",
    "AccountUpdated",
    "AccountGraded",
    "AccountTierSet",
    "RelationshipSet",
    "RelationshipAssessed",
    "AccountArchived",
    "ContactAdded",
    "ContactUpdated",
    "BuyingRoleAssigned",
    "BuyingRoleRemoved",
    "ContactLeft",
    "PersonalDataErased",
    "TouchLogged",
}


def classes_of(module: types.ModuleType) -> list[type]:
    return [
        cls
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if cls.__module__ == module.__name__ and dataclasses.is_dataclass(cls)
    ]


def assert_serialisable(tp: object, where: str) -> None:
    """Only the types the generic serializer maps: no float, dict, list or set."""
    origin = typing.get_origin(tp)
    if origin is types.UnionType or origin is typing.Union:
        for arg in typing.get_args(tp):
            if arg is not type(None):
                assert_serialisable(arg, where)
    elif origin is tuple:
        item, ellipsis = typing.get_args(tp)
        assert ellipsis is Ellipsis, f"{where}: tuples must be tuple[X, ...]"
        assert_serialisable(item, where)
    elif isinstance(tp, type) and dataclasses.is_dataclass(tp):
        assert tp.__dataclass_params__.frozen, f"{where}: nested {tp.__name__} is not frozen"
        for name, hint in typing.get_type_hints(tp).items():
            assert_serialisable(hint, f"{where}.{name}")
    else:
        assert isinstance(tp, type) and (issubclass(tp, StrEnum) or tp in SCALARS), (
            f"{where}: {tp!r} is not serialisable"
        )
        assert tp is not float


def test_event_types_name_every_event_by_its_class_name():
    assert set(EVENT_TYPES) == EXPECTED_EVENTS
    assert all(cls.__name__ == name for name, cls in EVENT_TYPES.items())
    assert set(EVENT_TYPES.values()) == set(classes_of(events))


@pytest.mark.parametrize(
    "cls", [*classes_of(events), *classes_of(commands)], ids=lambda c: c.__name__
)
def test_messages_are_frozen_and_use_only_serialisable_fields(cls):
    assert cls.__dataclass_params__.frozen
    for name, hint in typing.get_type_hints(cls).items():
        assert_serialisable(hint, f"{cls.__name__}.{name}")


def test_every_command_names_its_actor_and_moment():
    for cls in classes_of(commands):
        hints = typing.get_type_hints(cls)
        assert (hints["actor_id"], hints["actor_role"], hints["at"]) == (str, Role, datetime)


def test_every_event_has_a_moment():
    for cls in EVENT_TYPES.values():
        assert typing.get_type_hints(cls)["at"] is datetime


def test_personal_data_travels_only_in_the_personal_field():
    for cls in EVENT_TYPES.values():
        for name, hint in typing.get_type_hints(cls).items():
            carries = PersonalDetails in typing.get_args(hint) or hint is PersonalDetails
            assert carries == (name == "personal"), f"{cls.__name__}.{name}"
    for cls in (events.ContactAdded, events.ContactUpdated):
        assert typing.get_type_hints(cls)["personal"] == PersonalDetails | None
    assert {f.name for f in dataclasses.fields(PersonalDetails)} == {
        "email",
        "phone",
        "birthday",
        "hometown",
        "interests",
        "family_notes",
    }


@pytest.mark.parametrize(
    "state", [account.Account(), contact.Contact(), touch.Touch()], ids=lambda s: type(s).__name__
)
def test_states_are_frozen_and_start_empty_at_version_0(state):
    assert type(state).__dataclass_params__.frozen
    assert (state.version, state.id, state.exists) == (0, None, False)


def test_errors_have_stable_codes_and_status_hints():
    classes = [
        cls
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.AccountsError) and cls is not errors.AccountsError
    ]
    assert len(classes) >= 8
    codes = [cls.code for cls in classes]
    assert len(set(codes)) == len(codes)
    for cls in classes:
        assert cls.__name__.endswith("Error")
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", cls.code)
        assert cls.status in {403, 404, 409, 422}
    assert (errors.AccountArchivedError.code, errors.AccountArchivedError.status) == (
        "account-archived",
        409,
    )
    error = errors.DuplicateAccountNameError("taken", existing_account_id="x")
    assert isinstance(error, errors.AlreadyExistsError)
    assert (error.detail, error.extra) == ("taken", {"existing_account_id": "x"})


@pytest.mark.parametrize(
    "enum", [Grade, Tier, RelationshipType, Scope, Channel, BuyingRole, Role], ids=str
)
def test_every_member_has_a_chinese_label(enum):
    assert set(ZH_LABELS[enum]) == set(enum)
    assert all(label_zh(member) for member in enum)


def test_the_vocabularies():
    assert [g.value for g in Grade] == ["A", "B", "C", "D"]
    assert [t.value for t in Tier] == ["vip", "growth", "standard", "low_value"]
    assert {r.value for r in Role} == {"rep", "manager", "auditor", "admin", "service"}
    assert label_zh(BuyingRole.ECONOMIC_BUYER) == "决策者"
    assert label_zh(Channel.DINNER) == "宴请"
    assert sorted(SUPPORT_ZH_LABELS) == [-2, -1, 0, 1, 2]


def test_the_domain_imports_only_the_standard_library():
    for path in DOMAIN.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names, f"{path.name} imports {name}"
