"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

Each delivery carries ``webhook-id`` (the event id, the same on every retry),
``webhook-timestamp`` (Unix seconds of this attempt) and ``webhook-signature``
(``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``) keyed with the
subscription's secret ``whsec_<base64 key>``. Receivers recompute the HMAC,
compare in constant time and reject stale timestamps.

The service keeps each secret sealed under the master key (AES-GCM, the
envelope of :mod:`shared.eventstore.crypto`) and opens it only to sign: a
copy of the database or a backup gives away no way to forge deliveries.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from uuid import UUID

from shared.eventstore.crypto import open_sealed, seal

PREFIX = "whsec_"
KEY_BYTES = 32
TOLERANCE_SECONDS = 300


class InvalidSignatureError(ValueError):
    """A webhook whose signature or timestamp does not check out."""


def new_secret() -> str:
    """A fresh signing secret, ``whsec_`` + base64 of 32 random bytes."""
    return PREFIX + base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def seal_secret(master_key: bytes, subscription_id: UUID, secret: str) -> dict[str, str]:
    """``secret`` as stored: encrypted under the master key, bound to its subscription.

    The subscription id is the associated data, so a sealed secret copied onto
    another subscription's row does not open there.
    """
    return seal(master_key, _sealed_for(subscription_id), secret)


def open_secret(master_key: bytes, subscription_id: UUID, sealed: dict[str, str]) -> str:
    """The secret :func:`seal_secret` sealed; raises ``InvalidTag`` under another key or id."""
    return open_sealed(master_key, _sealed_for(subscription_id), sealed)


def _sealed_for(subscription_id: UUID) -> str:
    return f"webhook-subscription:{subscription_id}"


def _key(secret: str) -> bytes:
    raw = secret.removeprefix(PREFIX)
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("a signing secret is 'whsec_' followed by base64") from exc


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``v1,<base64>`` signature of one delivery."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secret: str, msg_id: str, body: bytes, *, now: float | None = None) -> dict[str, str]:
    """The three Standard Webhooks headers for one delivery attempt."""
    timestamp = int(time.time() if now is None else now)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, msg_id, timestamp, body),
    }


def verify(
    secret: str,
    received: dict[str, str],
    body: bytes,
    *,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> None:
    """Check a received delivery (what a receiver does); raises :class:`InvalidSignatureError`."""
    lowered = {k.lower(): v for k, v in received.items()}
    try:
        msg_id = lowered["webhook-id"]
        timestamp = int(lowered["webhook-timestamp"])
        offered = lowered["webhook-signature"].split()
    except (KeyError, ValueError) as exc:
        raise InvalidSignatureError("missing or malformed webhook headers") from exc
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        raise InvalidSignatureError("timestamp outside the tolerance")
    expected = signature(secret, msg_id, timestamp, body)
    if not any(hmac.compare_digest(expected, candidate) for candidate in offered):
        raise InvalidSignatureError("no matching signature")
