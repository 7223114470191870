"""The one place where deal errors become HTTP: each ``DealError`` (domain) and
``ServiceError`` (catalog, directory) subclass carries its problem ``type`` slug
(``code``) and status; the title comes from the class name and the error's extension
members (``missing``, ``stage`` …) join the problem body."""

from __future__ import annotations

import re
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from services.deals.domain import DealError
from services.deals.errors import ServiceError
from shared.http.problems import problem_response

# Members of every problem document; an error's own member of that name is renamed.
_RESERVED = frozenset({"type", "title", "status", "detail", "instance", "request_id"})
_WORD = re.compile(r"(?<!^)(?=[A-Z])")


def title_of(error: type[Exception]) -> str:
    """``StageGateUnmetError`` → ``Stage gate unmet``."""
    words = _WORD.sub(" ", error.__name__.removesuffix("Error")).lower()
    return words[:1].upper() + words[1:]


async def deal_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DealError | ServiceError)
    extra: dict[str, Any] = {
        (f"deal_{key}" if key in _RESERVED else key): value for key, value in exc.extra.items()
    }
    return problem_response(
        request, exc.status, exc.code, title_of(type(exc)), exc.detail, **jsonable_encoder(extra)
    )


EXCEPTION_HANDLERS = {DealError: deal_error, ServiceError: deal_error}
