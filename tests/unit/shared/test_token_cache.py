"""The cache of verified bearer tokens: answers repeats, never past a token's expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from shared.http.auth import Principal, Role, TokenCache, issue_token
from shared.http.problems import Problem

SECRET = "s" * 40
ISSUED = datetime.now(UTC)
EXPIRES = int((ISSUED + timedelta(hours=1)).timestamp())


def token(sub: str = "u-1", role: Role = Role.REP) -> str:
    return issue_token(SECRET, sub, role, ttl=timedelta(hours=1), now=ISSUED)


def refused(call) -> str:
    with pytest.raises(Problem) as err:
        call()
    assert err.value.status == 401
    return err.value.detail


def test_a_verified_token_is_answered_from_the_cache_until_it_expires() -> None:
    now = [EXPIRES - 60.0]
    cache = TokenCache(clock=lambda: now[0])
    t = token()
    assert cache.decode(SECRET, t) == Principal("u-1", Role.REP)
    assert len(cache) == 1
    now[0] = EXPIRES - 0.5
    assert cache.decode(SECRET, t) == Principal("u-1", Role.REP)
    now[0] = EXPIRES  # PyJWT's rule too: expired once now >= exp
    assert refused(lambda: cache.decode(SECRET, t)) == "The token has expired."
    assert len(cache) == 0


def test_an_entry_holds_only_for_the_secret_and_issuer_it_was_checked_with() -> None:
    cache = TokenCache()
    t = token()
    cache.decode(SECRET, t)
    assert refused(lambda: cache.decode("other" * 10, t)) == "The token is not valid."
    assert refused(lambda: cache.decode(SECRET, t, issuer="elsewhere")) == "The token is not valid."


def test_invalid_tokens_are_not_kept_and_the_least_recently_used_go_first() -> None:
    now = [EXPIRES - 60.0]
    cache = TokenCache(size=2, clock=lambda: now[0])
    forged = jwt.encode({"sub": "u-1", "role": "admin", "exp": EXPIRES}, "x" * 40)
    refused(lambda: cache.decode(SECRET, forged))
    no_role = jwt.encode({"sub": "u-1", "iss": "dealtrail", "exp": EXPIRES}, SECRET)
    refused(lambda: cache.decode(SECRET, no_role))
    assert len(cache) == 0
    first, second, third = (token(f"u-{n}") for n in range(3))
    for t in (first, second, first, third):  # first used again: second is the oldest
        cache.decode(SECRET, t)
    assert len(cache) == 2
    # Past the tokens' expiry by the cache's clock (not by the real one): a kept
    # token is refused by the cache, a dropped one is verified afresh.
    now[0] = EXPIRES + 1
    assert cache.decode(SECRET, second) == Principal("u-1", Role.REP)
    refused(lambda: cache.decode(SECRET, third))
