"""Crypto-shredding: personal fields encrypted under a per-subject key that can be destroyed.

Each subject (a contact) gets a random AES-256 data key, stored wrapped
(AES-GCM) under the master key in ``data_keys``. Event data keeps only the
ciphertext; deleting the key row makes every copy of those fields — in the
immutable log, exports, backups of the log — unreadable for good.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any

import asyncpg
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

DATA_KEYS_DDL = """
create table data_keys (
    subject_id   text primary key,
    wrapped_key  bytea not null,
    created_at   timestamptz not null default now()
)
"""

_GET = "select wrapped_key from data_keys where subject_id = $1"
_CREATE = """
insert into data_keys (subject_id, wrapped_key) values ($1, $2)
on conflict (subject_id) do nothing
"""
_DESTROY = "delete from data_keys where subject_id = $1"

ENVELOPE = "aes-256-gcm/v1"


class KeyDestroyedError(LookupError):
    """The subject's key was destroyed (its personal data was erased)."""


def is_envelope(value: Any) -> bool:
    return isinstance(value, dict) and value.get("enc") == ENVELOPE


class KeyStore:
    """Per-subject data keys, wrapped by the master key."""

    def __init__(self, pool: asyncpg.Pool, master_key: bytes) -> None:
        self.pool = pool
        self._master = AESGCM(master_key)

    async def key_for(self, subject_id: str, *, create: bool = False) -> bytes | None:
        """The subject's data key; created on first use when ``create``; None if destroyed."""
        wrapped = await self.pool.fetchval(_GET, subject_id)
        if wrapped is None and create:
            fresh = AESGCM.generate_key(bit_length=256)
            await self.pool.execute(_CREATE, subject_id, self._wrap(subject_id, fresh))
            wrapped = await self.pool.fetchval(_GET, subject_id)
        return None if wrapped is None else self._unwrap(subject_id, bytes(wrapped))

    async def destroy(self, subject_id: str, *, conn: asyncpg.Connection | None = None) -> bool:
        """Delete the subject's key; returns whether there was one.

        With ``conn`` the deletion joins that connection's transaction (e.g. the
        one appending the erasure event), so both happen or neither does.
        """
        return (await (conn or self.pool).execute(_DESTROY, subject_id)) != "DELETE 0"

    def _wrap(self, subject_id: str, key: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._master.encrypt(nonce, key, subject_id.encode())

    def _unwrap(self, subject_id: str, blob: bytes) -> bytes:
        return self._master.decrypt(blob[:12], blob[12:], subject_id.encode())


def seal(key: bytes, subject_id: str, value: Any) -> dict[str, str]:
    """Encrypt a JSON value for ``subject_id`` into an envelope dict."""
    nonce = os.urandom(12)
    plaintext = json.dumps(value, ensure_ascii=False, sort_keys=True).encode()
    ciphertext = AESGCM(key).encrypt(nonce, plaintext, subject_id.encode())
    return {
        "enc": ENVELOPE,
        "nonce": base64.b64encode(nonce).decode(),
        "ciphertext": base64.b64encode(ciphertext).decode(),
    }


def open_sealed(key: bytes, subject_id: str, envelope: dict[str, str]) -> Any:
    """Decrypt an envelope made by :func:`seal`."""
    nonce = base64.b64decode(envelope["nonce"])
    ciphertext = base64.b64decode(envelope["ciphertext"])
    return json.loads(AESGCM(key).decrypt(nonce, ciphertext, subject_id.encode()))
