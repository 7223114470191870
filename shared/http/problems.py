"""RFC 9457 ``application/problem+json`` errors with stable types, mapped in one place."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.eventstore import (
    IdempotencyKeyReusedError,
    InvalidCursorError,
    WrongExpectedVersionError,
)

log = structlog.get_logger(__name__)

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://dealtrail.dev/problems/"


class Problem(Exception):
    """An error that becomes a problem+json response.

    ``slug`` is the stable part of the ``type`` URI; ``extra`` members are
    added to the body (e.g. the list of unmet gate requirements).
    """

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra


def problem_response(
    request: Request | None,
    status: int,
    slug: str,
    title: str,
    detail: str | None = None,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """Render a problem document."""
    body: dict[str, Any] = {"type": TYPE_BASE + slug, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if request is not None:
        body["instance"] = request.url.path
        request_id = getattr(request.state, "request_id", None)
        if request_id:
            body["request_id"] = request_id
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


_HTTP_SLUGS = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Authentication required"),
    403: ("forbidden", "Not allowed"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    409: ("conflict", "Conflict"),
    412: ("precondition-failed", "Precondition failed"),
    413: ("payload-too-large", "Payload too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("invalid-request", "Invalid request"),
    428: ("precondition-required", "Precondition required"),
    429: ("too-many-requests", "Too many requests"),
}


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        out.append({"location": loc, "message": err.get("msg", ""), "type": err.get("type", "")})
    return out


def install_problem_handlers(app: FastAPI, extra: dict[type[Exception], Any] | None = None) -> None:
    """Map every error to problem+json: ours, FastAPI's, the store's, and the unexpected."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(
            request, exc.status, exc.slug, exc.title, exc.detail, headers=exc.headers, **exc.extra
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem_response(
            request,
            422,
            "validation-error",
            "The request is not valid",
            "See 'errors' for each invalid field.",
            errors=_validation_errors(exc),
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        slug, title = _HTTP_SLUGS.get(exc.status_code, ("http-error", "HTTP error"))
        detail = exc.detail if isinstance(exc.detail, str) and exc.detail != title else None
        return problem_response(
            request, exc.status_code, slug, title, detail, headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(WrongExpectedVersionError)
    async def _stale(request: Request, exc: WrongExpectedVersionError) -> JSONResponse:
        return problem_response(
            request,
            409,
            "version-conflict",
            "The resource changed since you read it",
            str(exc),
            current_version=exc.actual,
        )

    @app.exception_handler(IdempotencyKeyReusedError)
    async def _reused(request: Request, exc: IdempotencyKeyReusedError) -> JSONResponse:
        return problem_response(
            request, 422, "idempotency-key-reused", "Idempotency-Key reused", str(exc)
        )

    @app.exception_handler(InvalidCursorError)
    async def _cursor(request: Request, exc: InvalidCursorError) -> JSONResponse:
        return problem_response(request, 400, "invalid-cursor", "Invalid cursor", str(exc))

    for exc_type, handler in (extra or {}).items():
        app.add_exception_handler(exc_type, handler)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("request.failed", path=request.url.path)
        return problem_response(
            request,
            500,
            "internal-error",
            "Internal error",
            "The request could not be completed; it has been logged with its request id.",
        )
