"""The account directory follows a real accounts feed over HTTP.

The accounts service runs on a real port and serves ``GET /events`` from its own
schema; its events are appended with the event store exactly as its handlers would
(the same domain event classes and codec), so this test does not depend on the
accounts routes. A deals app with the directory consumer follows that feed.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from services.accounts.app import create_app as create_accounts_app
from services.accounts.domain import EVENT_TYPES
from services.accounts.domain.enums import Channel, Grade, Scope, Tier
from services.accounts.domain.events import (
    AccountArchived,
    AccountGraded,
    AccountOpened,
    AccountTierSet,
    AccountUpdated,
    TouchLogged,
)
from services.deals.app import create_app
from services.deals.projections import directory
from shared.aggregates import EventCodec
from shared.db import create_pool
from shared.eventstore import EventStore
from tests.support.http import make_settings, serve
from tests.support.live import LiveServer

from .support import REP, as_user, eventually
from .test_deal_commands import problem

CODEC = EventCodec(EVENT_TYPES)


async def test_deals_follow_accounts_and_their_touches(deals_db, db) -> None:
    accounts = await create_pool(deals_db, "accounts", min_size=1, max_size=2)
    store = EventStore(accounts)
    now = datetime.now(UTC)

    async def append(stream: uuid.UUID, stream_type: str, version: int, *events) -> None:
        new = [CODEC.encode(e) for e in events]
        await store.append(str(stream), stream_type, version, new, {"actor": "u-1"})

    active, archived = uuid.uuid4(), uuid.uuid4()
    for account_id, name in ((active, "华东电力"), (archived, "Gone Ltd")):
        opened = AccountOpened(
            account_id=account_id, name=name, industry="energy", region="east",
            scope=Scope.REGIONAL, owner_id="u-1", at=now,
        )  # fmt: skip
        await append(account_id, "account", 0, opened)
    await append(
        active, "account", 1,
        AccountGraded(account_id=active, grade=Grade.A, previous=None, reason="size", at=now),
        AccountTierSet(account_id=active, tier=Tier.VIP, previous=None, reason="profit", at=now),
    )  # fmt: skip
    await append(archived, "account", 1, AccountArchived(account_id=archived, reason=None, at=now))

    server = LiveServer(lambda: create_accounts_app(make_settings(deals_db)))
    await server.start()
    try:
        settings = make_settings(deals_db, accounts_url=server.url)
        async with serve(create_app(settings)) as http:
            rep = as_user(http, REP)

            async def entry(account_id):
                return await directory.account(db, account_id)

            followed = await eventually(lambda: entry(active), timeout=10)
            assert (followed.name, followed.grade, followed.tier) == ("华东电力", "A", "vip")
            assert (await eventually(lambda: entry(archived))).archived
            deal = await rep.opened(active)
            problem(await rep.open(archived), 422, "account-archived")

            touched_at = now - timedelta(hours=2)
            touch = TouchLogged(
                touch_id=uuid.uuid4(), account_id=active, contact_ids=(), channel=Channel.VISIT,
                occurred_at=touched_at, summary="site visit", deal_id=uuid.UUID(deal["id"]),
                next_step=None, next_step_due=None, logged_by="u-1", at=now,
            )  # fmt: skip
            await append(uuid.uuid4(), "touch", 0, touch)
            renamed = AccountUpdated(
                account_id=active, name="华东电力集团", industry=None, region=None, scope=None,
                owner_id=None, at=now,
            )  # fmt: skip
            await append(active, "account", 3, renamed)

            async def touched():
                read = (await rep.get(f"/deals/{deal['id']}")).json()
                return read["last_touch_at"]

            assert await eventually(touched, timeout=10) == touched_at.isoformat().replace(
                "+00:00", "Z"
            )
            renamed_entry = await eventually(lambda: _named(db, active, "华东电力集团"), timeout=10)
            assert renamed_entry.grade == "A"
    finally:
        await server.stop()
        await accounts.close()


async def _named(db, account_id, name):
    found = await directory.account(db, account_id)
    return found if found is not None and found.name == name else None
