"""Serve an app in-process (lifespan included) and talk to it with httpx."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI

from shared.http.auth import Role, issue_token
from shared.settings import Settings

TEST_SECRET = "test-secret-" + "x" * 40


def make_settings(db_url: str, **overrides) -> Settings:
    values = {
        "dealtrail_env": "test",
        "database_url": db_url,
        "jwt_secret": TEST_SECRET,
        "master_key": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        "log_json": True,
        "projection_poll_seconds": 0.2,
        "db_pool_min": 1,
        "db_pool_max": 10,
    }
    values.update(overrides)
    return Settings(**values)


def auth(role: Role | str = Role.REP, sub: str = "u-rep-1") -> dict[str, str]:
    return {"Authorization": "Bearer " + issue_token(TEST_SECRET, sub, role)}


@contextlib.asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client
