"""Unique account names per region, race-free: one claim stream per (region, name) key.

Opening an account appends ``AccountNameClaimed`` to the claim stream of its
normalised (region, name) in the same transaction as ``AccountOpened``. Two
concurrent opens of one name append to the same claim stream at the same
expected version, so exactly one commits; the other gets a version conflict and
is answered with ``DuplicateAccountNameError`` naming the holder. A rename
claims the new key and releases the old one; archiving releases the name.

A claim stream is a tiny aggregate of its own (state: who holds the name), so
it is loaded, decided and appended like any other. It is not a domain concept
of the accounts core and lives here, beside the handlers.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from uuid import UUID

from services.accounts.domain.account import Account, name_key
from services.accounts.domain.errors import DuplicateAccountNameError
from shared.aggregates import Aggregate, EventCodec

STREAM_TYPE = "account_name"


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountNameClaimed:
    account_id: UUID
    name: str
    region: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountNameReleased:
    account_id: UUID


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimName:
    account_id: UUID
    name: str
    region: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ReleaseName:
    account_id: UUID


@dataclass(frozen=True, slots=True, kw_only=True)
class NameClaim:
    """Who holds one (region, name) key now: an account id and its spelling, or nobody."""

    holder: UUID | None = None
    name: str = ""
    region: str = ""


def stream_id(region: str, name: str) -> str:
    """The claim stream of a (region, name) pair, compared case- and space-insensitively."""
    key = f"{name_key(region)}\n{name_key(name)}".encode()
    return "account-name-" + hashlib.sha256(key).hexdigest()[:40]


def key_of(account: Account) -> str | None:
    """The claim stream an account holds: none before it opens and once it is archived."""
    if not account.exists or account.archived:
        return None
    return stream_id(account.region, account.name)


def decide(state: NameClaim, command: ClaimName | ReleaseName) -> list:
    match command:
        case ClaimName(account_id=aid, name=name, region=region):
            if state.holder is None:
                return [AccountNameClaimed(account_id=aid, name=name, region=region)]
            if state.holder != aid:
                raise DuplicateAccountNameError(
                    f"an account named {state.name!r} already exists in {state.region}",
                    existing_account_id=str(state.holder),
                )
            return []
        case ReleaseName(account_id=aid):
            return [AccountNameReleased(account_id=aid)] if state.holder == aid else []
    raise TypeError(f"not a name claim command: {command!r}")


def evolve(state: NameClaim, event: AccountNameClaimed | AccountNameReleased) -> NameClaim:
    match event:
        case AccountNameClaimed(account_id=aid, name=name, region=region):
            return NameClaim(holder=aid, name=name, region=region)
        case AccountNameReleased():
            return NameClaim()
    raise TypeError(f"not a name claim event: {event!r}")


NAME_CLAIM = Aggregate(
    stream_type=STREAM_TYPE,
    initial=lambda _stream_id: NameClaim(),
    decide=decide,
    evolve=evolve,
    codec=EventCodec(
        {"AccountNameClaimed": AccountNameClaimed, "AccountNameReleased": AccountNameReleased}
    ),
)
