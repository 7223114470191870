"""Opaque cursors for keyset pagination of the read models (a JSON list, base64url)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from shared.http.problems import Problem


def text(value: Any) -> str:
    if not isinstance(value, str) or "\x00" in value:
        raise ValueError(value)
    value.encode()  # lone surrogates raise
    return value


def instant(value: Any) -> datetime:
    parsed = datetime.fromisoformat(text(value))
    if parsed.tzinfo is None:
        raise ValueError(value)
    return parsed


def uuid(value: Any) -> UUID:
    return UUID(text(value))


def number(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**31:
        raise ValueError(value)
    return value


def encode(values: Sequence[Any] | None) -> str | None:
    """A cursor for ``values`` (str, int, UUID or datetime); None stays None."""
    if values is None:
        return None
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    raw = json.dumps([str(v) if isinstance(v, UUID) else v for v in plain], ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(cursor: str | None, kinds: Sequence[Callable[[Any], Any]]) -> list[Any] | None:
    """The values of a cursor made by :func:`encode`, each parsed by its kind; else 400."""
    if not cursor:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(values, list) or len(values) != len(kinds):
            raise ValueError(cursor)
        return [kind(v) for kind, v in zip(kinds, values, strict=True)]
    except (ValueError, TypeError, binascii.Error, UnicodeError):
        raise Problem(
            400, "invalid-cursor", "Invalid cursor", "Use the cursor of a 'next' link."
        ) from None
