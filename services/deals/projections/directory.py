"""The account directory and the last touch on each deal, followed from the accounts feed.

Not a projection of our own events: a :class:`shared.feed.FeedConsumer` reads the
accounts service's ``GET /events`` (account and touch events only) and applies each
page here in the transaction that stores its cursor, so a restart of either service
loses nothing and applies nothing twice. ``account_directory`` validates the
account of a new deal and lets views filter by grade and tier; ``deal_last_touch``
holds the latest touch linked to each deal, so stalled deals count touches, and
``deal_touches`` every touch, for stalled deals as of a past moment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from shared.feed import FeedConsumer, service_feed
from shared.settings import Settings

FEED_NAME = "accounts-directory"
ACCOUNT_TYPES = (
    "AccountOpened", "AccountUpdated", "AccountGraded", "AccountTierSet", "AccountArchived",
)  # fmt: skip
FEED_TYPES = (*ACCOUNT_TYPES, "TouchLogged")
SERVICE_SUBJECT = "svc-deals"

COLUMNS = ("account_id", "name", "region", "owner_id", "grade", "tier", "archived", "updated_at")
_SELECT = """
select account_id, name, region, owner_id, grade, tier, archived, updated_at
from account_directory where account_id = any($1::uuid[])
"""
_UPSERT = """
insert into account_directory (account_id, name, region, owner_id, grade, tier, archived,
                               updated_at)
values ($1, $2, $3, $4, $5, $6, $7, $8)
on conflict (account_id) do update set
    name = excluded.name, region = excluded.region, owner_id = excluded.owner_id,
    grade = excluded.grade, tier = excluded.tier, archived = excluded.archived,
    updated_at = excluded.updated_at
"""
_TOUCH = """
insert into deal_last_touch (deal_id, last_touch_at) values ($1, $2)
on conflict (deal_id) do update
set last_touch_at = greatest(deal_last_touch.last_touch_at, excluded.last_touch_at)
"""
_TOUCH_HISTORY = """
insert into deal_touches (deal_id, touched_at) values ($1, $2) on conflict do nothing
"""
_ACCOUNT = "select name, grade, tier, archived from account_directory where account_id = $1"
_LAST_TOUCH = "select last_touch_at from deal_last_touch where deal_id = $1"
_UPDATABLE = ("name", "region", "owner_id")


async def apply(conn: asyncpg.Connection, items: list[dict[str, Any]]) -> None:
    """Apply one page of the accounts feed (items as ``RecordedEvent.to_public()``)."""
    accounts = [i for i in items if i["type"] in ACCOUNT_TYPES]
    if accounts:
        ids = list({UUID(i["data"]["account_id"]) for i in accounts})
        rows = {r["account_id"]: dict(r) for r in await conn.fetch(_SELECT, ids)}
        for item in accounts:
            _fold(rows, item["type"], item["data"])
        await conn.executemany(_UPSERT, [tuple(r[c] for c in COLUMNS) for r in rows.values()])
    touches = [
        (UUID(i["data"]["deal_id"]), datetime.fromisoformat(i["data"]["occurred_at"]))
        for i in items
        if i["type"] == "TouchLogged" and i["data"].get("deal_id")
    ]
    if touches:
        latest: dict[UUID, datetime] = {}
        for deal_id, at in touches:
            latest[deal_id] = max(at, latest.get(deal_id, at))
        await conn.executemany(_TOUCH, list(latest.items()))
        await conn.executemany(_TOUCH_HISTORY, touches)


def _fold(rows: dict[UUID, dict[str, Any]], kind: str, data: dict[str, Any]) -> None:
    account_id = UUID(data["account_id"])
    if kind == "AccountOpened":
        rows[account_id] = {
            "account_id": account_id, "grade": None, "tier": None, "archived": False,
            **{f: data[f] for f in _UPDATABLE},
        }  # fmt: skip
    row = rows.get(account_id)
    if row is None:
        return  # an account opened before a feed we never saw: nothing to update
    match kind:
        case "AccountUpdated":
            row.update({f: data[f] for f in _UPDATABLE if data.get(f) is not None})
        case "AccountGraded":
            row["grade"] = data["grade"]
        case "AccountTierSet":
            row["tier"] = data["tier"]
        case "AccountArchived":
            row["archived"] = True
    row["updated_at"] = datetime.fromisoformat(data["at"])


def consumer(settings: Settings, schema: str) -> FeedConsumer:
    """The consumer that keeps the directory: the accounts feed, with a service token."""
    return service_feed(
        FEED_NAME,
        settings.accounts_base_url,
        settings,
        schema,
        apply,
        subject=SERVICE_SUBJECT,
        types=FEED_TYPES,
    )


# --- reads -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AccountEntry:
    name: str
    grade: str | None
    tier: str | None
    archived: bool


async def account(pool: asyncpg.Pool, account_id: UUID) -> AccountEntry | None:
    row = await pool.fetchrow(_ACCOUNT, account_id)
    return None if row is None else AccountEntry(**dict(row))


async def last_touch(pool: asyncpg.Pool, deal_id: UUID) -> datetime | None:
    return await pool.fetchval(_LAST_TOUCH, deal_id)
