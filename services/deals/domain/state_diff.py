"""What changed between two states of a deal, and which events changed it.

The states compared are the deal as clients see it (the presented, JSON-ready dicts),
so a change is named like the response body: ``stage``,
``initiation_report.project_name``, ``quotes[<quote id>].status``,
``competitors[<name>]``. Dicts are compared key by key; a list of dicts whose members
carry an identity (``quote_id``, ``change_order_id``, ``name``, ``version``) member by
member, any other list of dicts position by position; every other value (a scalar, a
list of strings) whole.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from itertools import pairwise
from typing import Any

IDENTITIES = ("quote_id", "change_order_id", "name", "version")
# Reckoned at read time, or moved by every event: they would bury the real changes.
NOT_COMPARED = frozenset(
    {"version", "days_in_stage", "days_by_stage", "stalled", "last_touch_at", "last_activity_at"}
)


class ChangeKind(StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"


@dataclass(frozen=True, slots=True)
class Member:
    """A member of a list: by the value of its identity field, or by position
    (``field`` None)."""

    field: str | None
    key: Any


Key = str | Member


@dataclass(frozen=True, slots=True)
class Change:
    """One value added, removed or changed at ``keys``; ``versions``: the events that
    changed it (filled by :func:`changes`)."""

    keys: tuple[Key, ...]
    kind: ChangeKind
    before: Any = None
    after: Any = None
    versions: tuple[int, ...] = ()

    @property
    def path(self) -> str:
        text = ""
        for key in self.keys:
            if isinstance(key, Member):
                text += f"[{key.key}]"
            else:
                text += f".{key}" if text else key
        return text


@dataclass(frozen=True, slots=True)
class Step:
    """The deal's state just after the event at ``version``."""

    version: int
    state: Mapping[str, Any]


def diff(before: Any, after: Any) -> list[Change]:
    """Every difference between two JSON-ready values, in the order of their fields."""
    return list(_walk((), before, after))


def changes(start: Mapping[str, Any], steps: Sequence[Step]) -> list[Change]:
    """The changes from ``start`` to the last step's state, each with the versions of
    the events whose step changed the value at its path (``start`` is ``{}`` for a deal
    that did not exist yet).

    A value changed and changed back is no change, though its events stay in the
    stream."""
    states = [_compared(start), *(_compared(step.state) for step in steps)]
    found = []
    for change in _walk((), states[0], states[-1]):
        values = [_at(state, change.keys) for state in states]
        versions = tuple(
            step.version
            for step, (old, new) in zip(steps, pairwise(values), strict=True)
            if not _same(old, new)
        )
        found.append(replace(change, versions=versions))
    return found


def _compared(state: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in state.items() if name not in NOT_COMPARED}


_MISSING = object()


def _at(value: Any, keys: tuple[Key, ...]) -> Any:
    """The value at ``keys`` (``_MISSING`` where there is none)."""
    for key in keys:
        if isinstance(key, str):
            value = value.get(key, _MISSING) if isinstance(value, dict) else _MISSING
        elif not isinstance(value, list):
            value = _MISSING
        elif key.field is None:
            value = value[key.key] if key.key < len(value) else _MISSING
        else:
            value = next(
                (m for m in value if isinstance(m, dict) and _same(m.get(key.field), key.key)),
                _MISSING,
            )
        if value is _MISSING:
            break
    return value


def _walk(keys: tuple[Key, ...], before: Any, after: Any) -> Iterator[Change]:
    if isinstance(before, dict) and isinstance(after, dict):
        for name, value in after.items():
            if name in before:
                yield from _walk((*keys, name), before[name], value)
            else:
                yield Change((*keys, name), ChangeKind.ADDED, None, value)
        for name, value in before.items():
            if name not in after:
                yield Change((*keys, name), ChangeKind.REMOVED, value, None)
    elif _records(before) and _records(after):
        field = _identity(before, after)
        if field is None:
            yield from _positions(keys, before, after)
        else:
            yield from _members(keys, field, before, after)
    elif not _same(before, after):
        yield Change(keys, ChangeKind.CHANGED, before, after)


def _records(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, dict) for item in value)


def _identity(*lists: list[dict[str, Any]]) -> str | None:
    """The first identity field every member has, with a value unique in its list."""
    for field in IDENTITIES:
        usable = True
        for items in lists:
            values = [item.get(field) for item in items]
            if any(not _scalar_key(v) for v in values) or len(set(values)) < len(values):
                usable = False
                break
        if usable:
            return field
    return None


def _scalar_key(value: Any) -> bool:
    return isinstance(value, str | int) and not isinstance(value, bool)


def _members(
    keys: tuple[Key, ...], field: str, before: list[dict], after: list[dict]
) -> Iterator[Change]:
    old = {item[field]: item for item in before}
    new = {item[field]: item for item in after}
    for key, item in old.items():
        at = (*keys, Member(field, key))
        if key in new:
            yield from _walk(at, item, new[key])
        else:
            yield Change(at, ChangeKind.REMOVED, item, None)
    for key, item in new.items():
        if key not in old:
            yield Change((*keys, Member(field, key)), ChangeKind.ADDED, None, item)


def _positions(keys: tuple[Key, ...], before: list, after: list) -> Iterator[Change]:
    for index, (old, new) in enumerate(zip(before, after, strict=False)):
        yield from _walk((*keys, Member(None, index)), old, new)
    for index in range(len(after), len(before)):
        yield Change((*keys, Member(None, index)), ChangeKind.REMOVED, before[index], None)
    for index in range(len(before), len(after)):
        yield Change((*keys, Member(None, index)), ChangeKind.ADDED, None, after[index])


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON: ``1``, ``1.0`` and ``true`` are three values."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b
