"""Wiring of the accounts service."""

from __future__ import annotations

from fastapi import FastAPI

from shared.http.service import ServiceSpec, create_service_app
from shared.settings import Settings

DESCRIPTION = """Accounts (大客户), contacts and their buying roles, contact touches.

Every change is an immutable event; `GET /events` is the public feed.
Errors are `application/problem+json`; commands take `If-Match` and
`Idempotency-Key`; authenticate with `Authorization: Bearer <token>`.
"""


def service_spec() -> ServiceSpec:
    return ServiceSpec(
        name="accounts",
        schema="accounts",
        title="dealtrail accounts",
        description=DESCRIPTION,
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(service_spec(), settings)
