"""Canonical JSON and the per-stream hash chain (pure, shared with offline verification).

An event's hash is ``sha256(previous hash || canonical JSON of the event)``;
the first event of a stream chains from the empty byte string. Canonical JSON
is UTF-8 with sorted keys and no insignificant white space, so anyone can
recompute it from an export: it is exactly what Python's
``json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``
writes. Values made only of strings, 64-bit integers, booleans, nulls, lists
and objects are written by orjson instead, which gives the same text about
five times faster; anything else (floats, whose exponent format differs, big
integers, non-string keys) takes the ``json`` path.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson


def canonical_json(value: Any) -> str:
    """Deterministic JSON text of ``value``."""
    if is_plain_json(value):
        try:
            return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
        except orjson.JSONEncodeError:
            pass  # an integer beyond 64 bits, a non-string key, a lone surrogate
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def is_plain_json(value: Any) -> bool:
    """Whether ``value`` holds nothing but JSON strings, integers, booleans, nulls,
    lists and objects (where orjson and ``json`` write the same text)."""
    pending = [value]
    while pending:
        item = pending.pop()
        kind = type(item)
        if kind is str or kind is int or kind is bool or item is None:
            continue
        if kind is dict:
            pending.extend(item.values())
        elif kind is list:
            pending.extend(item)
        else:
            return False
    return True


def format_timestamp(ts: datetime) -> str:
    """RFC 3339 UTC with microseconds, the form used inside hashed bodies."""
    utc = ts if ts.tzinfo is UTC else ts.astimezone(UTC)
    if utc.year < 1000:  # strftime does not pad the year; keep its text for old bodies
        return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return utc.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def event_body(
    *,
    stream_id: str,
    stream_type: str,
    version: int,
    event_id: UUID | str,
    event_type: str,
    schema_version: int,
    data: dict,
    metadata: dict,
    recorded_at: datetime,
) -> str:
    """The canonical text that an event's hash covers."""
    return canonical_json(
        {
            "stream_id": stream_id,
            "stream_type": stream_type,
            "version": version,
            "event_id": str(event_id),
            "type": event_type,
            "schema_version": schema_version,
            "data": data,
            "metadata": metadata,
            "recorded_at": format_timestamp(recorded_at),
        }
    )


def chain_hash(previous: bytes | None, body: str) -> bytes:
    """The hash of one link: sha256 over the previous hash and the body."""
    return hashlib.sha256((previous or b"") + body.encode("utf-8")).digest()
