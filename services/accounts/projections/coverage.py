"""Buying-center coverage per account, for GET /views/coverage.

Three tables: accounts (last touch, touch count), contacts (whether they left,
their last touch) and the active buying roles of contacts still at the
account. "Last touch with the economic buyer" is computed when read, from the
contacts who hold that role *now*, so a contact who becomes economic buyer
brings their earlier touches along. Accounts sort by last touch, oldest (or
never) first, so the ones not touched for 30+ days lead.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg

from services.accounts.domain.enums import BuyingRole
from shared.eventstore import RecordedEvent
from shared.projections import BATCH_WINDOW, Projection

from ._util import ACCOUNT, CONTACT, TOUCH, load_rows, of, ts, upsert_rows

STALE_DAYS = 30
NEVER = datetime.min.replace(tzinfo=UTC)  # sorts an untouched account first

ACCOUNT_COLUMNS = (
    "account_id",
    "name",
    "owner_id",
    "region",
    "archived",
    "last_touch_at",
    "last_touch_sort",
    "touches",
)
_SELECT_ACCOUNTS = """
select account_id, name, owner_id, region, archived, last_touch_at, last_touch_sort, touches
from coverage_accounts where account_id = any($1::uuid[])
"""
_UPSERT_ACCOUNTS = """
insert into coverage_accounts (account_id, name, owner_id, region, archived, last_touch_at,
                               last_touch_sort, touches)
values ($1, $2, $3, $4, $5, $6, $7, $8)
on conflict (account_id) do update set
    name = excluded.name, owner_id = excluded.owner_id, region = excluded.region,
    archived = excluded.archived, last_touch_at = excluded.last_touch_at,
    last_touch_sort = excluded.last_touch_sort, touches = excluded.touches
"""
CONTACT_COLUMNS = ("contact_id", "account_id", "left_company", "last_touch_at")
_SELECT_CONTACTS = """
select contact_id, account_id, left_company, last_touch_at
from coverage_contacts where contact_id = any($1::uuid[])
"""
_UPSERT_CONTACTS = """
insert into coverage_contacts (contact_id, account_id, left_company, last_touch_at)
values ($1, $2, $3, $4)
on conflict (contact_id) do update set
    left_company = excluded.left_company, last_touch_at = excluded.last_touch_at
"""
_ADD_ROLE = """
insert into coverage_roles (account_id, contact_id, role, deal_key) values ($1, $2, $3, $4)
on conflict do nothing
"""
_REMOVE_ROLE = """
delete from coverage_roles
where account_id = $1 and contact_id = $2 and role = $3 and deal_key = $4
"""
_REMOVE_CONTACT_ROLES = "delete from coverage_roles where contact_id = $1"
# The partial indexes on (last_touch_sort, account_id) serve this page directly.
_PAGE = """
select a.account_id, a.name, a.owner_id, a.region, a.last_touch_at, a.touches,
       coalesce(r.roles, '{}') as roles, eb.last_touch_at as last_economic_buyer_touch_at
from coverage_accounts a
left join lateral (
    select array_agg(distinct cr.role order by cr.role) as roles
    from coverage_roles cr where cr.account_id = a.account_id
) r on true
left join lateral (
    select max(c.last_touch_at) as last_touch_at
    from coverage_roles cr join coverage_contacts c on c.contact_id = cr.contact_id
    where cr.account_id = a.account_id and cr.role = 'economic_buyer'
) eb on true
where not a.archived
  and ($1::text is null or a.owner_id = $1)
  and ($2::timestamptz is null or (a.last_touch_sort, a.account_id) > ($2, $3::uuid))
order by a.last_touch_sort, a.account_id
limit $4
"""


class Coverage(Projection):
    name = "coverage"
    tables = ("coverage_accounts", "coverage_contacts", "coverage_roles")
    batch_window = BATCH_WINDOW

    async def apply(self, conn: asyncpg.Connection, events: list[RecordedEvent]) -> None:
        mine = of(events, ACCOUNT, CONTACT, TOUCH)
        if not mine:
            return
        accounts = await load_rows(
            conn, _SELECT_ACCOUNTS, "account_id", (UUID(e.data["account_id"]) for e in mine)
        )
        contact_ids = [UUID(c) for e in mine for c in _contacts_of(e)]
        contacts = await load_rows(conn, _SELECT_CONTACTS, "contact_id", contact_ids)
        roles = _RoleChanges()
        for event in mine:
            _fold(accounts, contacts, roles, event)
        await upsert_rows(conn, _UPSERT_ACCOUNTS, ACCOUNT_COLUMNS, accounts.values())
        await upsert_rows(conn, _UPSERT_CONTACTS, CONTACT_COLUMNS, contacts.values())
        await roles.write(conn)


def _contacts_of(event: RecordedEvent) -> list[str]:
    if event.type == "TouchLogged":
        return event.data["contact_ids"]
    return [event.data["contact_id"]] if event.stream_type == CONTACT else []


class _RoleChanges:
    """Role assignments of a batch, last-wins per key; contacts who left lose them all."""

    def __init__(self) -> None:
        self.keyed: dict[tuple[UUID, UUID, str, str], bool] = {}  # True: held
        self.left: list[tuple[UUID]] = []

    def set(self, key: tuple[UUID, UUID, str, str], held: bool) -> None:
        self.keyed[key] = held

    def leave(self, contact_id: UUID) -> None:
        self.keyed = {k: v for k, v in self.keyed.items() if k[1] != contact_id}
        self.left.append((contact_id,))

    async def write(self, conn: asyncpg.Connection) -> None:
        for statement, rows in (
            (_REMOVE_CONTACT_ROLES, self.left),
            (_ADD_ROLE, [k for k, held in self.keyed.items() if held]),
            (_REMOVE_ROLE, [k for k, held in self.keyed.items() if not held]),
        ):
            if rows:
                await conn.executemany(statement, rows)


def _fold(accounts: dict, contacts: dict, roles: _RoleChanges, event: RecordedEvent) -> None:
    data, aid = event.data, UUID(event.data["account_id"])
    match event.type:
        case "AccountOpened":
            accounts[aid] = {
                "account_id": aid,
                "name": data["name"],
                "owner_id": data["owner_id"],
                "region": data["region"],
                "archived": False,
                "last_touch_at": None,
                "last_touch_sort": NEVER,
                "touches": 0,
            }
        case "AccountUpdated" if aid in accounts:
            for field in ("name", "owner_id", "region"):
                if data.get(field) is not None:
                    accounts[aid][field] = data[field]
        case "AccountArchived" if aid in accounts:
            accounts[aid]["archived"] = True
        case "ContactAdded":
            cid = UUID(data["contact_id"])
            contacts[cid] = {
                "contact_id": cid,
                "account_id": aid,
                "left_company": False,
                "last_touch_at": None,
            }
        case "ContactLeft" if UUID(data["contact_id"]) in contacts:
            contacts[UUID(data["contact_id"])]["left_company"] = True
            roles.leave(UUID(data["contact_id"]))
        case "BuyingRoleAssigned" | "BuyingRoleRemoved":
            key = (aid, UUID(data["contact_id"]), data["role"], data["deal_id"] or "")
            roles.set(key, event.type == "BuyingRoleAssigned")
        case "TouchLogged":
            occurred = ts(data["occurred_at"])
            if aid in accounts:
                row = accounts[aid]
                row["last_touch_at"] = _later(row["last_touch_at"], occurred)
                row["last_touch_sort"] = row["last_touch_at"]
                row["touches"] += 1
            for cid in map(UUID, data["contact_ids"]):
                if (person := contacts.get(cid)) is not None:
                    person["last_touch_at"] = _later(person["last_touch_at"], occurred)


def _later(current: datetime | None, new: datetime) -> datetime:
    return new if current is None or new > current else current


async def page(
    pool: asyncpg.Pool, owner_id: str | None, after: list[Any] | None, limit: int
) -> tuple[list[dict[str, Any]], list[Any] | None]:
    """A page of coverage rows, least recently touched first, and the next cursor values."""
    after_sort, after_id = after or (None, None)
    rows = await pool.fetch(_PAGE, owner_id, after_sort, after_id, limit + 1)
    now = datetime.now(UTC)
    items = [_row(r, now) for r in rows[:limit]]
    if len(rows) <= limit:
        return items, None
    last = rows[limit - 1]
    return items, [last["last_touch_at"] or NEVER, last["account_id"]]


def _row(r: asyncpg.Record, now: datetime) -> dict[str, Any]:
    covered = list(r["roles"])
    last = r["last_touch_at"]
    days = None if last is None else max(0, (now - last).days)
    return {
        "account_id": r["account_id"],
        "name": r["name"],
        "owner_id": r["owner_id"],
        "region": r["region"],
        "roles_covered": covered,
        "roles_missing": [role.value for role in BuyingRole if role.value not in covered],
        "has_coach": BuyingRole.COACH.value in covered,
        "last_touch_at": last,
        "days_since_touch": days,
        "last_economic_buyer_touch_at": r["last_economic_buyer_touch_at"],
        "stale": days is None or days >= STALE_DAYS,
        "touches": r["touches"],
    }
