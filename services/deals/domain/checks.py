"""Small validators for command content; each raises InvalidCommandError naming the field."""

import re
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeVar

from .errors import InvalidCommandError, ReasonRequiredError

NAME_MAX = 200
TEXT_MAX = 4000
CENT = Decimal("0.01")
HUNDRED = Decimal(100)
T = TypeVar("T")
_CURRENCY = re.compile(r"[A-Z]{3}")


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


def plain_text(value: str, field: str, max_len: int = TEXT_MAX) -> str:
    """``value`` stripped; may be empty."""
    return optional_text(value, field, max_len) or ""


def reason(value: str | None, why: str) -> str:
    """A required reason; ``why`` says what needs it, for the message."""
    text = optional_text(value, "reason", TEXT_MAX)
    if text is None:
        raise ReasonRequiredError(f"{why} needs a reason", field="reason")
    return text


def utc(value: datetime, field: str) -> datetime:
    """An aware timestamp normalised to UTC; a naive one is invalid."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidCommandError(f"{field} must be timezone-aware", field=field)
    return value.astimezone(UTC)


def decimal(value: Decimal, field: str) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise InvalidCommandError(f"{field} must be a finite decimal", field=field)
    return value


def amount(value: Decimal, field: str) -> Decimal:
    """A money amount: finite, not negative."""
    if decimal(value, field) < 0:
        raise InvalidCommandError(f"{field} must not be negative", field=field)
    return value


def percent(value: Decimal, field: str, low: Decimal = Decimal(0)) -> Decimal:
    """A percentage between ``low`` and 100."""
    if not low <= decimal(value, field) <= HUNDRED:
        raise InvalidCommandError(f"{field} must be between {low} and 100", field=field)
    return value


def currency(value: str, field: str = "currency") -> str:
    """An ISO 4217 code: three upper-case letters (the list itself is not checked)."""
    if not _CURRENCY.fullmatch(value):
        raise InvalidCommandError(f"{field} must be an ISO 4217 code like 'CNY'", field=field)
    return value


def money(value: Decimal) -> Decimal:
    """Rounded to cents, half up (how every computed amount is stored)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def changed(new: T | None, current: T) -> T | None:
    """``new`` if it differs from ``current``, else None (for "only changed fields" events)."""
    return None if new is None or new == current else new


def keep(new: T | None, current: T) -> T:
    """``new`` unless it is None (folding "None means unchanged" events)."""
    return current if new is None else new
