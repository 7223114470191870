"""A consumer of the accounts feed, over real HTTP, across restarts of either side.

Like the deals service will, a small consumer keeps account cards (name, grade,
touch count) from the accounts service's ``GET /events``, with its checkpoint
in its own schema. The consumer is stopped and started again mid-stream, then
the accounts service itself goes down and comes back on the same port while
commands keep coming. In the end every event of the followed types was applied
exactly once (a primary key on the event id would refuse a second time) and
the cards agree with what was done.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime

import asyncpg
import httpx
import pytest

from services.accounts.app import create_app
from shared.embedded_pg import quote_ident
from shared.eventstore.feed_schema import FEED_CHECKPOINTS_DDL
from shared.feed import FeedConsumer
from shared.http.auth import issue_token
from tests.support.http import TEST_SECRET, auth, make_settings
from tests.support.live import LiveServer

FOLLOWED = ["AccountOpened", "AccountGraded", "TouchLogged"]
CARDS_DDL = (
    "create table applied (event_id uuid primary key)",
    """create table account_cards (account_id uuid primary key, name text not null,
                                   grade text, touches integer not null default 0)""",
)


@pytest.fixture
async def local_schema(migrated_db):
    """The consumer's side: its checkpoint, the events it applied, its account cards."""
    name = "cards_" + uuid.uuid4().hex[:8]
    conn = await asyncpg.connect(migrated_db)
    try:
        await conn.execute("create schema " + quote_ident(name))
        await conn.execute("set search_path to " + quote_ident(name))
        for ddl in (FEED_CHECKPOINTS_DDL, *CARDS_DDL):
            await conn.execute(ddl)
    finally:
        await conn.close()
    return name


async def apply_cards(conn: asyncpg.Connection, events: list[dict]) -> None:
    await conn.executemany(
        "insert into applied values ($1)", [(uuid.UUID(e["id"]),) for e in events]
    )
    for e in events:
        data = e["data"]
        account_id = uuid.UUID(data["account_id"])
        if e["type"] == "AccountOpened":
            await conn.execute(
                "insert into account_cards (account_id, name) values ($1, $2)",
                account_id,
                data["name"],
            )
        elif e["type"] == "AccountGraded":
            await conn.execute(
                "update account_cards set grade = $2 where account_id = $1",
                account_id,
                data["grade"],
            )
        elif e["type"] == "TouchLogged":
            await conn.execute(
                "update account_cards set touches = touches + 1 where account_id = $1",
                account_id,
            )


async def test_consumer_of_accounts_feed_survives_restarts(migrated_db, local_schema) -> None:
    server = LiveServer(lambda: create_app(make_settings(migrated_db)))
    await server.start()

    def consumer() -> FeedConsumer:
        return FeedConsumer(
            "account-cards",
            server.url,
            migrated_db,
            local_schema,
            apply_cards,
            token=lambda: issue_token(TEST_SECRET, "svc-deals", "service"),
            types=FOLLOWED,
            limit=4,
            idle_poll=0.02,
            max_backoff=0.3,
        )

    expected: dict[str, tuple[str, int]] = {}
    async with httpx.AsyncClient(base_url=server.url, headers=auth("rep", "rep-1")) as http:

        async def account_with_touches(grade: str, touches: int) -> None:
            name = f"客户-{uuid.uuid4().hex[:8]}"
            opened = await http.post("/accounts", json={"name": name, "region": "华东"})
            account_id = opened.json()["id"]
            graded = await http.post(
                f"/accounts/{account_id}/grade",
                json={"grade": grade, "reason": "年度评级"},
                headers={"If-Match": '"1"'},
            )
            assert graded.status_code == 200
            contact = await http.post(f"/accounts/{account_id}/contacts", json={"name": "张伟"})
            for _ in range(touches):
                touch = {
                    "account_id": account_id,
                    "contact_ids": [contact.json()["id"]],
                    "channel": "visit",
                    "occurred_at": datetime.now(UTC).isoformat(),
                    "summary": "拜访",
                }
                assert (await http.post("/touches", json=touch)).status_code == 201
            expected[account_id] = (grade, touches)

        first = consumer()
        await first.start()
        for i in range(6):
            await account_with_touches("ABCD"[i % 4], i % 3)
        await _until(lambda: first.applied > 0)
        await first.stop()  # the consumer stops mid-stream …
        for _ in range(4):
            await account_with_touches("B", 2)
        second = consumer()  # … and a new one resumes from the stored checkpoint
        await second.start()
        await account_with_touches("A", 1)

        await server.stop()  # the accounts service goes down; the consumer retries
        await asyncio.sleep(0.4)
        await server.start()
        for i in range(4):
            await account_with_touches("C", i)

    try:
        total = await _count_followed(migrated_db)
        await _until_applied(migrated_db, local_schema, total)
    finally:
        await second.stop()
        await server.stop()

    conn = await asyncpg.connect(migrated_db)
    try:
        applied = await conn.fetchval(f"select count(*) from {quote_ident(local_schema)}.applied")
        rows = await conn.fetch(
            f"select account_id, grade, touches from {quote_ident(local_schema)}.account_cards"
        )
    finally:
        await conn.close()
    # one AccountOpened and one AccountGraded per account, and its touches
    assert applied == total == 2 * len(expected) + sum(t for _, t in expected.values())
    assert {str(r["account_id"]): (r["grade"], r["touches"]) for r in rows} == expected


async def _count_followed(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(
            "select count(*) from accounts.events where event_type = any($1)", FOLLOWED
        )
    finally:
        await conn.close()


async def _until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def _until_applied(url: str, schema: str, n: int, timeout: float = 20.0) -> None:
    conn = await asyncpg.connect(url)
    try:
        deadline = time.monotonic() + timeout
        query = f"select count(*) from {quote_ident(schema)}.applied"
        while await conn.fetchval(query) < n:
            assert time.monotonic() < deadline, "the consumer did not catch up"
            await asyncio.sleep(0.05)
    finally:
        await conn.close()
