"""The deals views served over HTTP on a freshly migrated database.

Projections are driven to completion with ``apply_batch`` (no background runner),
so a test decides exactly when the views catch up.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest

from services.deals.api.views import views_router
from services.deals.projections import directory
from services.deals.projections.views import view_projections
from shared.http.auth import Role
from shared.http.service import Runtime, ServiceSpec, create_service_app
from shared.projections import apply_batch
from tests.support.http import auth, make_settings, serve

from .desk import Desk

# Owned by the accounts feed consumer's migration; created here only when missing.
ACCOUNTS_DDL = (
    """create table if not exists account_directory (
        account_id uuid primary key, name text, region text, owner_id text, grade text,
        tier text, archived boolean, updated_at timestamptz)""",
    """create table if not exists deal_last_touch (
        deal_id uuid primary key, last_touch_at timestamptz not null)""",
)


@dataclass
class Views:
    client: httpx.AsyncClient
    desk: Desk
    runtime: Runtime

    async def catch_up(self, batch_size: int = 50) -> None:
        async with self.runtime.pool.acquire() as conn:
            for projection in view_projections():
                while await apply_batch(conn, self.runtime.store, projection, batch_size):
                    pass

    async def fetch(self, path: str, role: Role = Role.AUDITOR, **params: Any) -> httpx.Response:
        return await self.client.get(path, params=params, headers=auth(role, "u-1"))

    async def get(self, path: str, role: Role = Role.AUDITOR, **params: Any) -> dict[str, Any]:
        response = await self.fetch(path, role, **params)
        assert response.status_code == 200, response.text
        return response.json()

    async def execute(self, sql: str, *args: Any) -> None:
        await self.runtime.pool.execute(sql, *args)

    async def apply_accounts_feed(self, items: list[dict[str, Any]]) -> None:
        """Apply a page of the accounts feed the way the directory's consumer does."""
        async with self.runtime.pool.acquire() as conn, conn.transaction():
            await directory.apply(conn, items)


def views_spec() -> ServiceSpec:
    return ServiceSpec(
        name="deals",
        schema="deals",
        title="deals views (test)",
        description="",
        routers=[views_router],
        projections=view_projections,
    )


@pytest.fixture
async def views(migrated_db: str) -> AsyncIterator[Views]:
    conn = await asyncpg.connect(migrated_db, server_settings={"search_path": "deals"})
    try:
        for ddl in ACCOUNTS_DDL:
            await conn.execute(ddl)
    finally:
        await conn.close()
    settings = make_settings(migrated_db, projections_enabled=False, fanout_enabled=False)
    app = create_service_app(views_spec(), settings)
    async with serve(app) as client:
        runtime: Runtime = app.state.runtime
        yield Views(client, Desk(runtime.store), runtime)
