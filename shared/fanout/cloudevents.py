"""CloudEvents 1.0 (structured JSON) envelopes for events leaving a service.

The same envelope goes to webhook receivers and to NATS JetStream, so a
consumer parses one shape whatever the transport. ``id`` is the event id
(stable across redeliveries: de-duplicate on it); the dealtrail-specific
attributes are CloudEvents extensions (lower-case alphanumerics only).
"""

from __future__ import annotations

import json
import re
from typing import Any

from shared.eventstore.canonical import format_timestamp
from shared.eventstore.types import RecordedEvent

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/cloudevents+json"
_METADATA_EXTENSIONS = {
    "actor": "actor",
    "role": "actorrole",
    "reason": "reason",
    "correlation_id": "correlationid",
    "causation_id": "causationid",
    "request_id": "requestid",
}
_NOT_A_TOKEN = re.compile(r"[^A-Za-z0-9_-]")


def subject_token(text: str) -> str:
    """``text`` made safe as one NATS subject token (no dots, wildcards or spaces)."""
    return _NOT_A_TOKEN.sub("_", text) or "_"


def event_type(service: str, recorded_type: str) -> str:
    """The CloudEvents ``type`` of a stored event type: ``dealtrail.<service>.<type>``."""
    return f"dealtrail.{subject_token(service)}.{subject_token(recorded_type)}"


def to_cloudevent(event: RecordedEvent, service: str) -> dict[str, Any]:
    """The CloudEvents 1.0 envelope of one recorded event."""
    envelope: dict[str, Any] = {
        "specversion": SPEC_VERSION,
        "id": str(event.event_id),
        "source": f"/dealtrail/{service}/{event.stream_type}",
        "type": event_type(service, event.type),
        "subject": event.stream_id,
        "time": format_timestamp(event.recorded_at),
        "datacontenttype": "application/json",
        "data": event.data,
        "cursor": event.cursor.encode(),
        "position": event.position,
        "streamtype": event.stream_type,
        "streamversion": event.version,
        "schemaversion": event.schema_version,
        "hash": event.hash.hex(),
    }
    for key, attribute in _METADATA_EXTENSIONS.items():
        value = event.metadata.get(key)
        if isinstance(value, str | int | bool) and value != "":
            envelope[attribute] = value
    return envelope


def encode(envelope: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON bytes of an envelope (what gets signed and sent)."""
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()
