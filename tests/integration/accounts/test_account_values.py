"""Won values from the deals feed, and GET /views/accounts.

Deal events are appended to the deals schema with the event store exactly as the
deals service's handlers would, and read back as its ``GET /events`` shows them;
the pages are applied here as the feed consumer would apply them — some twice,
as an at-least-once feed may deliver them. Each test works on accounts of an owner
of its own and reads the view for that owner only.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest_asyncio
from fastapi import FastAPI

from services.accounts.projections import deal_values
from services.deals.domain import EVENT_TYPES, STREAM_TYPE
from services.deals.domain.values import DealStatus
from shared.aggregates import EventCodec
from shared.db import create_pool
from shared.eventstore import EventStore
from tests.unit.accounts import deal_events as de

from .support import headers, match, open_account, problem, settle, unique

CODEC = EventCodec(EVENT_TYPES)


class DealFeed:
    """Deals recorded in the deals schema; their feed items, and applying pages of them."""

    def __init__(self, store: EventStore, app: FastAPI) -> None:
        self.store, self.app = store, app
        self.versions: dict[uuid.UUID, int] = {}

    async def record(self, *events: Any) -> None:
        for event in events:
            version = self.versions.get(event.deal_id, 0)
            await self.store.append(
                str(event.deal_id), STREAM_TYPE, version, [CODEC.encode(event)], {"actor": "u-1"}
            )
            self.versions[event.deal_id] = version + 1

    async def items(self, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Every event recorded here, in feed order. The feed shows an event only once
        every transaction older than it has ended (a projector's, say): wait for that."""
        deadline = time.monotonic() + timeout
        while True:
            found = []
            for deal_id in self.versions:
                found += await self.store.read_all(
                    types=deal_values.FEED_TYPES, stream_id=str(deal_id)
                )
            if len(found) == sum(self.versions.values()):
                return [e.to_public() for e in sorted(found, key=lambda e: e.position)]
            assert time.monotonic() < deadline, "the recorded deal events did not show"
            await asyncio.sleep(0.01)

    async def apply(self, items: list[dict[str, Any]]) -> None:
        async with self.app.state.runtime.pool.acquire() as conn, conn.transaction():
            await deal_values.apply(conn, items)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def deals_store(accounts_db: str) -> AsyncIterator[EventStore]:
    pool = await create_pool(accounts_db, "deals", min_size=1, max_size=2)
    try:
        yield EventStore(pool)
    finally:
        await pool.close()


@pytest_asyncio.fixture(loop_scope="session")
async def feed(deals_store: EventStore, app: FastAPI) -> DealFeed:
    return DealFeed(deals_store, app)


async def graded(client: httpx.AsyncClient, owner: str, grade: str, tier: str | None = None):
    account = await open_account(client, owner)
    r = await client.post(
        f"/accounts/{account['id']}/grade",
        json={"grade": grade, "reason": "年度评级"},
        headers=headers("rep", owner, **match(1)),
    )
    assert r.status_code == 200, r.text
    if tier is not None:
        r = await client.post(
            f"/accounts/{account['id']}/tier",
            json={"tier": tier, "reason": "利润贡献"},
            headers=headers("rep", owner, **match(2)),
        )
        assert r.status_code == 200, r.text
    return uuid.UUID(account["id"])


async def view(client: httpx.AsyncClient, owner: str, **params: Any) -> dict[str, Any]:
    r = await client.get(
        "/views/accounts", params={"owner_id": owner, **params}, headers=headers("manager", "m-1")
    )
    assert r.status_code == 200, r.text
    return r.json()


def won_by(segments: list[dict], key: str) -> dict[Any, dict[str, tuple]]:
    """{segment: {currency: (accounts, deals, value)}} for the non-empty segments."""
    return {
        s[key]: {w["currency"]: (w["accounts"], w["deals"], w["value"]) for w in s["won"]}
        for s in segments
        if s["won"]
    }


async def test_a_page_applied_twice_counts_every_win_once(client, app, feed) -> None:
    owner = unique("rep")
    a, b = await graded(client, owner, "A", "vip"), await graded(client, owner, "B")
    await settle(app)
    changed, closed_, lost, reopened = (uuid.uuid4() for _ in range(4))
    await feed.record(
        de.opened(changed, a),
        de.won(changed, "450000.00"),
        de.change_order(changed, "-20000.00", "430000.00"),
        de.opened(closed_, b, "USD"),
        de.won(closed_, "1000.00"),
        de.closed(closed_),
        de.reopened(closed_, DealStatus.WON),
        de.opened(lost, a),
        de.lost(lost),
        de.reopened(lost, DealStatus.OPEN),
        de.opened(reopened, b),
    )
    items = await feed.items()
    assert len(items) == 11
    await feed.apply(items[:6])
    await feed.apply(items[:6])  # the page again: the consumer crashed before its checkpoint
    await feed.apply(items[3:])  # and resumed from an earlier cursor
    await feed.apply(items)
    await feed.apply(items[:2])  # a page from the very start: older than what is applied

    body = await view(client, owner)
    assert body["accounts"] == 2
    assert [(w["currency"], w["accounts"], w["deals"], w["value"]) for w in body["won"]] == [
        ("CNY", 1, 1, "430000.00"),
        ("USD", 1, 1, "1000.00"),
    ]
    assert won_by(body["by_grade"], "grade") == {
        "A": {"CNY": (1, 1, "430000.00")},
        "B": {"USD": (1, 1, "1000.00")},
    }
    assert won_by(body["by_tier"], "tier") == {
        "vip": {"CNY": (1, 1, "430000.00")},
        None: {"USD": (1, 1, "1000.00")},
    }
    assert [(c["grade"], c["tier"], c["accounts"]) for c in body["by_grade_tier"]] == [
        ("A", "vip", 1),
        ("B", None, 1),
    ]
    # a later win of the deal reopened from its loss counts once, at its own value
    await feed.record(de.won(lost, "99.50"))
    items = await feed.items()
    await feed.apply(items[-2:])
    await feed.apply(items[-1:])
    assert (await view(client, owner))["won"][0] == {
        "currency": "CNY",
        "accounts": 1,
        "deals": 2,
        "value": "430099.50",
    }


async def test_currencies_stay_apart_each_with_its_own_20_80_figure(client, app, feed) -> None:
    owner = unique("rep")
    cny = [Decimal(v) for v in ("500", "300", "60", "50", "40", "30", "20")]
    accounts = [await graded(client, owner, "ABCD"[i % 4]) for i in range(len(cny))]
    await graded(client, owner, "C")  # won nothing: counted, but not in the 20:80 figure
    await settle(app)
    for account, value in zip(accounts, cny, strict=True):
        deal = uuid.uuid4()
        await feed.record(de.opened(deal, account), de.won(deal, value))
    usd = uuid.uuid4()
    await feed.record(de.opened(usd, accounts[-1], "USD"), de.won(usd, "7.00"))
    await feed.apply(await feed.items())

    body = await view(client, owner)
    assert body["accounts"] == 8
    assert [(w["currency"], w["value"]) for w in body["won"]] == [
        ("CNY", "1000.00"),
        ("USD", "7.00"),
    ]
    assert body["concentration"] == [
        {
            "currency": "CNY",
            "accounts": 7,
            "top_accounts": 2,  # ceil(0.2 × 7)
            "value": "1000.00",
            "top_value": "800.00",
            "top_share": "0.8000",
        },
        {
            "currency": "USD",
            "accounts": 1,
            "top_accounts": 1,
            "value": "7.00",
            "top_value": "7.00",
            "top_share": "1.0000",
        },
    ]
    grades = {s["grade"]: s for s in body["by_grade"]}
    assert [grades[g]["accounts"] for g in ("A", "B", "C", "D", None)] == [2, 2, 3, 1, 0]
    assert grades["C"]["won"] == [
        {"currency": "CNY", "accounts": 2, "deals": 2, "value": "80.00"},
        {"currency": "USD", "accounts": 1, "deals": 1, "value": "7.00"},
    ]


async def test_archived_accounts_count_only_when_asked(client, app, feed) -> None:
    owner = unique("rep")
    kept, archived = await graded(client, owner, "A"), await graded(client, owner, "A")
    for account, value in ((kept, "100.00"), (archived, "900.00")):
        deal = uuid.uuid4()
        await feed.record(de.opened(deal, account), de.won(deal, value))
    await feed.apply(await feed.items())
    r = await client.post(
        f"/accounts/{archived}/archive", headers=headers("rep", owner, **match(2))
    )
    assert r.status_code == 200, r.text
    await settle(app)

    current = await view(client, owner)
    assert (current["include_archived"], current["accounts"]) == (False, 1)
    assert current["won"][0]["value"] == "100.00"
    everything = await view(client, owner, include_archived="true")
    assert (everything["include_archived"], everything["accounts"]) == (True, 2)
    assert everything["concentration"][0]["top_share"] == "0.9000"


async def test_any_reader_may_look_but_only_with_a_token(client) -> None:
    owner = unique("rep")
    params = {"owner_id": owner}
    for role in ("rep", "manager", "auditor", "admin", "service"):
        r = await client.get("/views/accounts", params=params, headers=headers(role, "u-1"))
        assert r.status_code == 200, (role, r.text)
        assert r.json()["accounts"] == 0 and r.json()["concentration"] == []
    problem(await client.get("/views/accounts", params=params), 401, "unauthorized")
    bad_token = {"Authorization": "Bearer not-a-token"}
    problem(
        await client.get("/views/accounts", params=params, headers=bad_token), 401, "unauthorized"
    )


async def test_bad_query_parameters_are_a_problem(client) -> None:
    for params in (
        {"include_archived": "maybe"},
        {"owner_id": "x" * 201},
        {"owner_id": "bad\u0000owner"},
    ):
        r = await client.get("/views/accounts", params=params, headers=headers())
        body = problem(r, 422, "validation-error")
        assert body["errors"], body
