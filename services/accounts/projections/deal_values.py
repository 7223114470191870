"""Won contract values per account, followed from the deals feed.

Not a projection of our own events: a :class:`shared.feed.FeedConsumer` reads the
deals service's ``GET /events`` (only the events that open a deal or change what it
won) and applies each page here, in the transaction that stores the page's cursor.

One row per deal (``deal_values``): its account and currency (from ``DealOpened``;
neither ever changes), its status and, once won, the contract value and signing
date. What changes a won value:

- ``DealWon``: the contract value and signed date; the deal counts from now on;
- ``ChangeOrderAdded``: the contract value after the change (the event carries it,
  so the delta is never added here);
- ``DealClosed``: accepted and closed — the win still counts;
- ``DealReopened``: back to ``won`` (was closed: still counts) or to ``open`` (was
  lost: the win, if any, is undone);
- ``DealLost``: counts no more.

Every row keeps the deal version it was last changed at and an event at or below
it is skipped, so a page applied twice (the feed is at-least-once) or an event
seen again in a later page changes nothing. Every value set is absolute as well.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from services.accounts.domain.enums import Grade, Tier
from services.accounts.domain.won_value import AccountWins, Won, WonValueReport, report
from shared.feed import FeedConsumer, service_feed
from shared.settings import Settings

from ._util import load_rows, ts, upsert_rows

FEED_NAME = "deals-won-values"
FEED_TYPES = (
    "DealOpened", "DealWon", "ChangeOrderAdded", "DealClosed", "DealReopened", "DealLost",
)  # fmt: skip
SERVICE_SUBJECT = "svc-accounts"
COUNTED = ("won", "closed")  # statuses whose contract value counts (as in _ACCOUNTS)

COLUMNS = (
    "deal_id", "account_id", "currency", "status", "contract_value", "signed_date", "won_at",
    "version",
)  # fmt: skip
_SELECT = """
select deal_id, account_id, currency, status, contract_value, signed_date, won_at, version
from deal_values where deal_id = any($1::uuid[])
"""
# The version guard repeats the fold's: a row never goes back to an older deal version.
_UPSERT = """
insert into deal_values (deal_id, account_id, currency, status, contract_value, signed_date,
                         won_at, version)
values ($1, $2, $3, $4, $5, $6, $7, $8)
on conflict (deal_id) do update set
    status = excluded.status, contract_value = excluded.contract_value,
    signed_date = excluded.signed_date, won_at = excluded.won_at, version = excluded.version
where deal_values.version < excluded.version
"""
# One row per account in scope and currency it won in (one with a null currency when it
# won nothing): the accounts' current grade and tier, their won deals summed per currency.
_ACCOUNTS = """
select a.account_id, a.grade, a.tier, w.currency, w.deals, w.value
from account_directory a
left join (
    select account_id, currency, count(*)::int as deals, sum(contract_value) as value
    from deal_values where status in ('won', 'closed')
    group by account_id, currency
) w on w.account_id = a.account_id
where ($1::boolean or not a.archived) and ($2::text is null or a.owner_id = $2)
"""


async def apply(conn: asyncpg.Connection, items: list[dict[str, Any]]) -> None:
    """Apply one page of the deals feed (items as ``RecordedEvent.to_public()``)."""
    mine = [i for i in items if i["type"] in FEED_TYPES]
    if not mine:
        return
    rows = await load_rows(conn, _SELECT, "deal_id", (UUID(i["data"]["deal_id"]) for i in mine))
    for item in mine:
        fold(rows, item)
    await upsert_rows(conn, _UPSERT, COLUMNS, rows.values())


def fold(rows: dict[UUID, dict[str, Any]], item: dict[str, Any]) -> None:
    """Fold one feed item into the rows by deal id; an item already applied is skipped."""
    kind, data, version = item["type"], item["data"], item["version"]
    deal_id = UUID(data["deal_id"])
    row = rows.get(deal_id)
    if row is not None and version <= row["version"]:
        return
    if kind == "DealOpened":
        row = rows[deal_id] = {
            "deal_id": deal_id, "account_id": UUID(data["account_id"]),
            "currency": data["currency"], "status": "open", "contract_value": None,
            "signed_date": None, "won_at": None,
        }  # fmt: skip
    if row is None:
        return  # a deal opened before a feed we never saw: nothing to count it for
    match kind:
        case "DealWon":
            row.update(
                status="won",
                contract_value=Decimal(data["contract_value"]),
                signed_date=date.fromisoformat(data["signed_date"]),
                won_at=ts(data["at"]),
            )
        case "ChangeOrderAdded":
            row["contract_value"] = Decimal(data["contract_value"])
        case "DealClosed":
            row["status"] = "closed"
        case "DealReopened":
            row["status"] = data["status"]
            if row["status"] not in COUNTED:
                _unwin(row)
        case "DealLost":
            row["status"] = "lost"
            _unwin(row)
    row["version"] = version


def _unwin(row: dict[str, Any]) -> None:
    row.update(contract_value=None, signed_date=None, won_at=None)


def consumer(settings: Settings, schema: str) -> FeedConsumer:
    """The consumer that keeps the won values: the deals feed, with a service token."""
    return service_feed(
        FEED_NAME,
        settings.deals_base_url,
        settings,
        schema,
        apply,
        subject=SERVICE_SUBJECT,
        types=FEED_TYPES,
    )


# --- reads -------------------------------------------------------------------------------


async def value_report(
    pool: asyncpg.Pool, *, owner_id: str | None, include_archived: bool
) -> WonValueReport:
    """Accounts and their won values by grade and tier, and the 20:80 figures."""
    rows = await pool.fetch(_ACCOUNTS, include_archived, owner_id)
    accounts: dict[UUID, tuple[Grade | None, Tier | None, list[Won]]] = {}
    for row in rows:
        grade = None if row["grade"] is None else Grade(row["grade"])
        tier = None if row["tier"] is None else Tier(row["tier"])
        _grade, _tier, won = accounts.setdefault(row["account_id"], (grade, tier, []))
        if row["currency"] is not None:
            won.append(Won(currency=row["currency"], deals=row["deals"], value=row["value"]))
    return report(
        AccountWins(grade=grade, tier=tier, won=tuple(won))
        for grade, tier, won in accounts.values()
    )
