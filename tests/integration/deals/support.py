"""Helpers of the deals HTTP tests: users that keep ETags, directory rows, polling."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx

from tests.support.http import auth


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


REP = "rep"
MANAGER = "manager"
ADMIN = "admin"
AUDITOR = "auditor"


async def add_account(
    db: asyncpg.Pool, *, archived: bool = False, grade: str | None = "A", name: str = "ACME"
) -> uuid.UUID:
    """An account in the local directory, as the accounts feed would have left it."""
    account_id = uuid.uuid4()
    await db.execute(
        "insert into account_directory values ($1, $2, 'east', 'u-1', $3, null, $4, $5)",
        account_id,
        name,
        grade,
        archived,
        datetime.now(UTC),
    )
    return account_id


@dataclass
class Deals:
    """Talks to the deals API as one user, keeping each deal's last ETag."""

    http: httpx.AsyncClient
    role: str
    sub: str

    def headers(self, **extra: str) -> dict[str, str]:
        return {**auth(self.role, self.sub), **extra}

    async def open(self, account_id: uuid.UUID, **fields: Any) -> httpx.Response:
        body = {"account_id": str(account_id), "title": "ERP rollout", "amount": "1000000.00"}
        body["currency"] = "CNY"
        body.update(fields)
        return await self.http.post("/deals", json=body, headers=self.headers())

    async def opened(self, account_id: uuid.UUID, **fields: Any) -> dict[str, Any]:
        response = await self.open(account_id, **fields)
        assert response.status_code == 201, response.text
        return response.json()

    async def command(
        self,
        method: str,
        path: str,
        version: int | str | None,
        body: Any = None,
        **headers: str,
    ) -> httpx.Response:
        extra = dict(headers)
        if version is not None:
            extra["If-Match"] = version if isinstance(version, str) else f'"{version}"'
        return await self.http.request(method, path, json=body, headers=self.headers(**extra))

    async def get(self, path: str, **params: Any) -> httpx.Response:
        return await self.http.get(path, params=params, headers=self.headers())


def as_user(http: httpx.AsyncClient, role: str = REP, sub: str | None = None) -> Deals:
    return Deals(http, role, sub or unique(f"u-{role}"))


def version_of(response: httpx.Response) -> int:
    return int(response.headers["ETag"].strip('"'))


async def eventually(
    check: Callable[[], Awaitable[Any]], *, timeout: float = 5.0, interval: float = 0.02
) -> Any:
    """Poll ``check`` until it returns something truthy (projections catch up async)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not true within {timeout}s: last result {result!r}")
        await asyncio.sleep(interval)


REPORT = {
    "project_name": "ERP phase 2",
    "project_number": "P-2026-001",
    "customer_owner_contact_id": "00000000-0000-0000-0000-00000000000b",
    "estimated_contract_amount": "1000000.00",
    "estimated_gross_margin_pct": "32.5",
    "sales_expense_budget": "20000.00",
    "project_category": "software",
    "expected_signing_date": "2026-09-30",
}


def quote_body(discount: str = "5", **extra: Any) -> dict[str, Any]:
    return {
        "currency": "CNY",
        "lines": [
            {
                "sku": "ERP-CORE",
                "description": "core licence",
                "quantity": "10",
                "unit_price": "50000.00",
                "discount_pct": discount,
                "unit_cost": "20000.00",
            },
            {
                "sku": "SVC",
                "quantity": "100",
                "unit_price": "1000.00",
                "unit_cost": "500.00",
            },
        ],
        **extra,
    }
