"""Request field types both services share: text PostgreSQL can store, UTC instants,
and the strict request body.

PostgreSQL refuses NUL characters and lone surrogates in text and jsonb; refusing
them at the edge turns what would be a database error into a 422.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, model_validator


def storable(value: Any) -> Any:
    """``value`` unchanged if every string in it can be stored as PostgreSQL text/jsonb."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("text must not contain NUL (\\u0000)")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("text must be valid Unicode (no lone surrogates)") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            storable(key)
            storable(item)
    elif isinstance(value, list | tuple):
        for item in value:
            storable(item)
    return value


def as_utc(value: datetime) -> datetime:
    """``value`` in UTC; a moment that cannot be expressed there is a validation error."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("timestamp out of range") from None


# A query-string or body text that PostgreSQL can store.
SafeText = Annotated[str, AfterValidator(storable)]
# An RFC 3339 timestamp with an offset, normalised to UTC.
Instant = Annotated[AwareDatetime, AfterValidator(as_utc)]


class Body(BaseModel):
    """A request body: unknown fields and unstorable text are refused (422)."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        return storable(data)
