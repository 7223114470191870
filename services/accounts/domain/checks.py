"""Small validators for command content; each raises InvalidCommandError naming the field."""

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from .errors import InvalidCommandError

NAME_MAX = 200
TEXT_MAX = 4000
T = TypeVar("T")


def required_text(value: str, field: str, max_len: int = NAME_MAX) -> str:
    """``value`` stripped; blank or too long is invalid."""
    text = value.strip()
    if not text:
        raise InvalidCommandError(f"{field} must not be blank", field=field)
    if len(text) > max_len:
        raise InvalidCommandError(f"{field} is longer than {max_len} characters", field=field)
    return text


def optional_text(value: str | None, field: str, max_len: int = NAME_MAX) -> str | None:
    """``value`` stripped; blank becomes None."""
    if value is None or not value.strip():
        return None
    return required_text(value, field, max_len)


def plain_text(value: str, field: str, max_len: int = NAME_MAX) -> str:
    """``value`` stripped; may be empty."""
    return optional_text(value, field, max_len) or ""


def utc(value: datetime, field: str) -> datetime:
    """An aware timestamp normalised to UTC; a naive one is invalid."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidCommandError(f"{field} must be timezone-aware", field=field)
    return value.astimezone(UTC)


def not_after(value: datetime, limit: datetime, field: str, slack: timedelta) -> None:
    if value > limit + slack:
        raise InvalidCommandError(f"{field} is in the future", field=field)


def in_range(value: int, low: int, high: int, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidCommandError(f"{field} must be an integer {low}…{high}", field=field)
    return value


def no_duplicates(values: Iterable[object], field: str) -> None:
    seen: set[object] = set()
    for value in values:
        if value in seen:
            raise InvalidCommandError(f"{field} lists {value} twice", field=field)
        seen.add(value)


def changed(new: T | None, current: T) -> T | None:
    """``new`` if it differs from ``current``, else None (for "only changed fields" events)."""
    return None if new is None or new == current else new


def keep(new: T | None, current: T) -> T:
    """``new`` unless it is None (folding "None means unchanged" events)."""
    return current if new is None else new
