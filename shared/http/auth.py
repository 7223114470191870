"""Bearer tokens (JWT, HS256) carrying a user id and one role."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated

import jwt
from fastapi import Depends
from fastapi.security import HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from starlette.requests import HTTPConnection

from shared.http.problems import Problem

ALGORITHM = "HS256"


class Role(StrEnum):
    REP = "rep"
    MANAGER = "manager"
    AUDITOR = "auditor"
    ADMIN = "admin"
    SERVICE = "service"


WRITERS = frozenset({Role.REP, Role.MANAGER, Role.ADMIN, Role.SERVICE})


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the token's subject and role."""

    sub: str
    role: Role

    @property
    def can_write(self) -> bool:
        return self.role in WRITERS


def issue_token(
    secret: str,
    sub: str,
    role: Role | str,
    *,
    issuer: str = "dealtrail",
    ttl: timedelta = timedelta(days=30),
    now: datetime | None = None,
) -> str:
    """A signed bearer token for ``sub`` acting as ``role``."""
    issued = now or datetime.now(UTC)
    claims = {
        "sub": sub,
        "role": Role(role).value,
        "iss": issuer,
        "iat": int(issued.timestamp()),
        "exp": int((issued + ttl).timestamp()),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode_token(secret: str, token: str, *, issuer: str = "dealtrail") -> Principal:
    """Verify a token and return its principal; raises :class:`Problem` (401) if invalid."""
    return _verify(secret, token, issuer)[0]


def _verify(secret: str, token: str, issuer: str) -> tuple[Principal, int]:
    """The token's principal and expiry (Unix seconds)."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=issuer,
            options={"require": ["sub", "exp", "iss"]},
        )
        return Principal(sub=str(claims["sub"]), role=Role(claims.get("role"))), claims["exp"]
    except jwt.ExpiredSignatureError as exc:
        raise _expired() from exc
    except (jwt.InvalidTokenError, ValueError) as exc:
        raise _unauthorized("The token is not valid.") from exc


class TokenCache:
    """Principals of recently verified tokens: a client sends the same token with every
    request, and checking its signature and claims each time cost a few per cent of a
    command's CPU. Keyed by the secret, issuer and token, so a token is never taken as
    valid under settings it was not checked against; an entry ends with its token's
    ``exp``; only valid tokens are kept, at most ``size`` (least recently used go)."""

    def __init__(self, size: int = 4096, clock: Callable[[], float] = time.time) -> None:
        self.size = size
        self.clock = clock
        self._items: OrderedDict[tuple[str, str, str], tuple[Principal, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def decode(self, secret: str, token: str, *, issuer: str = "dealtrail") -> Principal:
        """:func:`decode_token`, answered from the cache while the token has not expired."""
        key = (secret, issuer, token)
        item = self._items.get(key)
        if item is not None:
            principal, expires = item
            if self.clock() < expires:
                self._items.move_to_end(key)
                return principal
            del self._items[key]
            raise _expired()
        principal, expires = _verify(secret, token, issuer)
        self._items[key] = (principal, expires)
        if len(self._items) > self.size:
            self._items.popitem(last=False)
        return principal


def _expired() -> Problem:
    return _unauthorized("The token has expired.")


def _unauthorized(detail: str) -> Problem:
    return Problem(
        401,
        "unauthorized",
        "Authentication required",
        detail,
        headers={"WWW-Authenticate": 'Bearer realm="dealtrail"'},
    )


_tokens = TokenCache()


class Bearer(HTTPBearer):
    """FastAPI dependency: the verified caller, who must hold one of ``roles`` when
    any are given; else a 401 or 403 problem. The principal is also left on
    ``request.state`` (for the audit read log).

    It is FastAPI's bearer scheme (so OpenAPI shows it on every route that needs a
    token) that verifies the token and checks the role itself: the same as three
    chained dependencies — scheme, principal, role — did, at about half the cost
    per request. ``async`` although it never waits: FastAPI runs a plain ``def``
    dependency in a worker thread, a hop that costs more than the check.
    """

    def __init__(self, roles: Iterable[Role] = (), *, refusal: str | None = None) -> None:
        super().__init__(
            auto_error=False, scheme_name="HTTPBearer", description="JWT from `dealtrail token`"
        )
        self.roles = frozenset(roles)
        self.refusal = refusal or f"This needs one of the roles: {', '.join(sorted(self.roles))}."

    async def __call__(self, request: HTTPConnection) -> Principal:  # type: ignore[override]
        scheme, token = get_authorization_scheme_param(request.headers.get("authorization"))
        if not token or scheme.lower() != "bearer":
            raise _unauthorized("Send 'Authorization: Bearer <token>'.")
        settings = request.app.state.settings
        principal = _tokens.decode(settings.signing_secret, token, issuer=settings.jwt_issuer)
        request.state.principal = principal
        if self.roles and principal.role not in self.roles:
            raise Problem(403, "forbidden", "Not allowed", self.refusal)
        return principal


PrincipalDep = Annotated[Principal, Depends(Bearer())]


def require_roles(*roles: Role) -> Bearer:
    """Dependency: the caller must hold one of ``roles`` (else 403)."""
    return Bearer(roles)


# Any role that may write (auditors only read).
WriterDep = Annotated[
    Principal, Depends(Bearer(WRITERS, refusal="Auditors have read-only access."))
]
