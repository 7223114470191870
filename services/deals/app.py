"""Wiring of the deals service."""

from __future__ import annotations

from fastapi import FastAPI

from shared.http.service import ServiceSpec, create_service_app
from shared.settings import Settings

DESCRIPTION = """Deals moving through the key-account pipeline (大客户销售流程), quotes, win/loss.

Every change is an immutable event; `GET /events` is the public feed.
Errors are `application/problem+json`; commands take `If-Match` and
`Idempotency-Key`; authenticate with `Authorization: Bearer <token>`.
"""


def service_spec() -> ServiceSpec:
    return ServiceSpec(
        name="deals",
        schema="deals",
        title="dealtrail deals",
        description=DESCRIPTION,
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(service_spec(), settings)
