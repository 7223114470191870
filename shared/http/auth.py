"""Bearer tokens (JWT, HS256) carrying a user id and one role."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

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
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=issuer,
            options={"require": ["sub", "exp", "iss"]},
        )
        return Principal(sub=str(claims["sub"]), role=Role(claims.get("role")))
    except jwt.ExpiredSignatureError as exc:
        raise _unauthorized("The token has expired.") from exc
    except (jwt.InvalidTokenError, ValueError) as exc:
        raise _unauthorized("The token is not valid.") from exc


def _unauthorized(detail: str) -> Problem:
    return Problem(
        401,
        "unauthorized",
        "Authentication required",
        detail,
        headers={"WWW-Authenticate": 'Bearer realm="dealtrail"'},
    )


_bearer = HTTPBearer(auto_error=False, description="JWT from `dealtrail token`")


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """FastAPI dependency: the verified caller, or 401.

    The dependencies here are ``async`` although they never wait: FastAPI runs a
    plain ``def`` dependency in a worker thread, a hop that cost about a fifth of
    a simple command's CPU time.
    """
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorized("Send 'Authorization: Bearer <token>'.")
    settings = request.app.state.settings
    principal = decode_token(
        settings.signing_secret, credentials.credentials, issuer=settings.jwt_issuer
    )
    request.state.principal = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: Role):
    """Dependency factory: the caller must hold one of ``roles`` (else 403)."""
    allowed = frozenset(roles)

    async def check(principal: PrincipalDep) -> Principal:
        if principal.role not in allowed:
            raise Problem(
                403,
                "forbidden",
                "Not allowed",
                f"This needs one of the roles: {', '.join(sorted(allowed))}.",
            )
        return principal

    return check


async def require_writer(principal: PrincipalDep) -> Principal:
    """Dependency: any role that may write (auditors only read)."""
    if not principal.can_write:
        raise Problem(403, "forbidden", "Not allowed", "Auditors have read-only access.")
    return principal


WriterDep = Annotated[Principal, Depends(require_writer)]
