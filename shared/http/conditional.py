"""ETag / If-Match (stream version) and Idempotency-Key helpers."""

from __future__ import annotations

import hashlib
import re

from shared.eventstore.canonical import canonical_json
from shared.http.problems import Problem

_ETAG = re.compile(r'^\s*(?:W/)?"(\d{1,10})"\s*$')
IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9._:-]{1,200}$")


def etag(version: int) -> str:
    """The ETag of an aggregate at ``version``."""
    return f'"{version}"'


def parse_if_match(value: str | None, *, required: bool = True) -> int | None:
    """The version named by ``If-Match``; 428 when missing and required, 400 if malformed."""
    if value is None or value.strip() == "":
        if required:
            raise Problem(
                428,
                "precondition-required",
                "If-Match required",
                'Send If-Match: "<version>" with the ETag you read.',
            )
        return None
    if value.strip() == "*":
        return None
    match = _ETAG.match(value)
    if not match:
        raise Problem(
            400, "invalid-if-match", "Invalid If-Match", 'Expected If-Match: "<version>".'
        )
    return int(match.group(1))


def check_if_match(expected: int | None, current: int) -> None:
    """412 when the client's version is not the current one."""
    if expected is not None and expected != current:
        raise Problem(
            412,
            "stale-version",
            "The resource changed since you read it",
            f"If-Match names version {expected}; the current version is {current}.",
            current_version=current,
            headers={"ETag": etag(current)},
        )


def check_idempotency_key(value: str | None) -> str | None:
    """Validate an ``Idempotency-Key`` header (optional)."""
    if value is None:
        return None
    if not IDEMPOTENCY_KEY.match(value):
        raise Problem(
            400,
            "invalid-idempotency-key",
            "Invalid Idempotency-Key",
            "Use 1–200 characters from A–Z, a–z, 0–9 and . _ : -",
        )
    return value


def request_fingerprint(method: str, path: str, body: object) -> bytes:
    """What makes two requests 'the same' for idempotency: method, path and body."""
    return hashlib.sha256(f"{method} {path} {canonical_json(body)}".encode()).digest()
