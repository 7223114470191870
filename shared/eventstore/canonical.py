"""Canonical JSON and the per-stream hash chain (pure, shared with offline verification).

An event's hash is ``sha256(previous hash || canonical JSON of the event)``;
the first event of a stream chains from the empty byte string. Canonical JSON
is UTF-8 with sorted keys and no insignificant white space, so anyone can
recompute it from an export.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID


def canonical_json(value: Any) -> str:
    """Deterministic JSON text of ``value``."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def format_timestamp(ts: datetime) -> str:
    """RFC 3339 UTC with microseconds, the form used inside hashed bodies."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


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
