"""The accounts domain's errors as problem+json: one handler, their own code and status."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse

from services.accounts.domain.errors import AccountsError
from shared.http.problems import problem_response


async def accounts_error(request: Request, exc: Exception) -> JSONResponse:
    """Every ``AccountsError`` subclass: ``type`` from its ``code``, status from ``status``,
    its ``extra`` members (ids, field names) in the body."""
    assert isinstance(exc, AccountsError)
    title = exc.code.replace("-", " ").capitalize()
    return problem_response(request, exc.status, exc.code, title, exc.detail, **exc.extra)


EXCEPTION_HANDLERS = {AccountsError: accounts_error}
