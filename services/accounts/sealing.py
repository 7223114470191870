"""Personal data at rest: the ``personal`` field of contact events, sealed per contact.

``ContactAdded`` / ``ContactUpdated`` carry a contact's ``PersonalDetails`` in
``personal`` (nothing else in any event is personal). On the way into the
store that value becomes an AES-GCM envelope under the contact's own data key
(:mod:`shared.eventstore.crypto`); on the way out it is opened with that key,
or becomes None when the key is gone (erased) or not at hand (a *locked*
codec: projections, the CLI, commands that never read personal data).

Keys are looked up per request, never cached in the process: once a key row is
deleted, every replica stops decrypting at the same moment.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from cryptography.exceptions import InvalidTag

from services.accounts.domain import EVENT_TYPES
from services.accounts.domain.errors import PersonalDataErasedError
from shared.aggregates import EventCodec
from shared.eventstore.canonical import canonical_json
from shared.eventstore.crypto import is_envelope, open_sealed, seal

PERSONAL_EVENTS = frozenset({"ContactAdded", "ContactUpdated"})
ENCRYPTED = "[encrypted]"
ERASED = "[erased]"


def contact_codec(key: bytes | None) -> EventCodec:
    """The contact codec with ``key`` (None: locked — personal data reads as None)."""

    def encode(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
        personal = data.get("personal") if event_type in PERSONAL_EVENTS else None
        if personal is None:
            return data
        if key is None:
            # Every contact with personal data has a key until it is erased.
            raise PersonalDataErasedError(
                f"personal data of contact {data['contact_id']} was erased",
                contact_id=data["contact_id"],
            )
        return {**data, "personal": seal(key, data["contact_id"], personal)}

    def decode(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
        personal = data.get("personal") if event_type in PERSONAL_EVENTS else None
        if personal is None:
            return data
        return {**data, "personal": unseal(key, data["contact_id"], personal)}

    return EventCodec(EVENT_TYPES, encode, decode)


def unseal(key: bytes | None, contact_id: str, envelope: Any) -> Any:
    """The plaintext of an envelope, or None when it cannot (or must not) be opened."""
    if key is None or not is_envelope(envelope):
        return None
    try:
        return open_sealed(key, contact_id, envelope)
    except (InvalidTag, ValueError, KeyError):
        return None  # sealed under a key that no longer exists


def shown_personal(data: dict[str, Any], key: bytes | None, *, may_read: bool) -> dict[str, Any]:
    """An event's data for a history reader: personal details decrypted, hidden or erased."""
    envelope = data.get("personal")
    if envelope is None:
        return data
    if key is None:
        shown: Any = ERASED
    elif not may_read:
        shown = ENCRYPTED
    else:
        shown = unseal(key, str(data.get("contact_id")), envelope) or ERASED
    return {**data, "personal": shown}


def fingerprint_body(body: dict[str, Any], key: bytes | None) -> dict[str, Any]:
    """``body`` with its personal details replaced by a keyed hash, for the idempotency
    fingerprint: a plain hash of low-entropy values (a birthday) would let anyone with
    the database confirm a guess, even after erasure. Keyed with the contact's data
    key, the hash dies with the key."""
    personal = body.get("personal")
    if personal is None:
        return body
    if key is None:
        return {**body, "personal": ERASED}
    mac_key = hmac.new(key, b"dealtrail idempotency fingerprint", hashlib.sha256).digest()
    digest = hmac.new(mac_key, canonical_json(personal).encode(), hashlib.sha256).hexdigest()
    return {**body, "personal": digest}
