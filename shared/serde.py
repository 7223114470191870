"""Frozen dataclasses to JSON-ready dicts and back, driven by type hints.

Domain events and commands are plain dataclasses of str, int, bool, Decimal,
date, datetime, UUID, enums, optionals, tuples and nested dataclasses. This
module is their only codec: money becomes a decimal string, timestamps RFC
3339 UTC, never floats.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import Any, TypeVar
from uuid import UUID

T = TypeVar("T")


def to_data(obj: Any) -> Any:
    """A JSON-ready value for a dataclass instance (or any supported value)."""
    kind = type(obj)
    if kind is str or kind is int or kind is bool or obj is None:
        return obj
    convert = _WRITERS.get(kind)
    if convert is None:
        convert = _WRITERS[kind] = _writer(kind)
    return convert(obj)


# The conversion of each type met so far, chosen once per type (in the order below).
_WRITERS: dict[type, Callable[[Any], Any]] = {}


def _writer(kind: type) -> Callable[[Any], Any]:
    if issubclass(kind, bool | int | str):
        return _same
    if dataclasses.is_dataclass(kind):
        names = tuple(f.name for f in dataclasses.fields(kind))
        return lambda obj: {name: to_data(getattr(obj, name)) for name in names}
    if issubclass(kind, Enum):
        return _enum_value
    if issubclass(kind, Decimal):
        return str
    if issubclass(kind, datetime):
        return _timestamp
    if issubclass(kind, date):
        return date.isoformat
    if issubclass(kind, UUID):
        return str
    if issubclass(kind, tuple | list):
        return lambda obj: [to_data(v) for v in obj]
    if issubclass(kind, dict):
        return lambda obj: {str(k): to_data(v) for k, v in obj.items()}

    def refuse(obj: Any) -> Any:
        raise TypeError(f"cannot serialise {kind.__name__}")

    return refuse


def _same(obj: Any) -> Any:
    return obj


def _enum_value(obj: Enum) -> Any:
    return obj.value


def _timestamp(obj: datetime) -> str:
    return obj.astimezone(UTC).isoformat().replace("+00:00", "Z")


def from_data(cls: type[T], data: Any) -> T:
    """Rebuild a value of type ``cls`` from :func:`to_data` output."""
    return _reader(cls)(data)


@cache
def _reader(tp: Any) -> Callable[[Any], Any]:
    """How to rebuild a value of type ``tp``, worked out once per type. None stays None."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        arg = next((a for a in typing.get_args(tp) if a is not type(None)), None)
        return _reader(arg) if arg is not None else _same
    if origin is tuple:
        args = typing.get_args(tp)
        item = _reader(args[0] if args else Any)
        return _or_none(lambda value: tuple(item(v) for v in value))
    if origin is dict:
        value_reader = _reader(typing.get_args(tp)[1])
        return _or_none(lambda value: {k: value_reader(v) for k, v in value.items()})
    if tp is Any:
        return _same
    if dataclasses.is_dataclass(tp):
        return _or_none(_DataclassReader(tp))
    if isinstance(tp, type):
        if issubclass(tp, Enum):
            return _or_none(tp)
        if tp is Decimal:
            return _or_none(lambda value: Decimal(str(value)))
        if tp is datetime:
            return _or_none(_parse_timestamp)
        if tp is date:
            return _or_none(date.fromisoformat)
        if tp is UUID:
            return _or_none(lambda value: UUID(str(value)))
        if tp in (str, int, bool):
            return _or_none(tp)
    return _same


def _or_none(read: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else read(value)


def _parse_timestamp(value: Any) -> datetime:
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class _DataclassReader:
    """Rebuilds one dataclass; its fields' readers are worked out on first use, so a
    dataclass may refer to itself."""

    def __init__(self, cls: type) -> None:
        self.cls = cls
        self.fields: tuple[tuple[str, Callable[[Any], Any]], ...] | None = None

    def __call__(self, value: Any) -> Any:
        if self.fields is None:
            hints = typing.get_type_hints(self.cls)
            self.fields = tuple(
                (f.name, _reader(hints[f.name])) for f in dataclasses.fields(self.cls) if f.init
            )
        return self.cls(**{name: read(value[name]) for name, read in self.fields if name in value})
