"""Contacts and their buying roles, per account, for GET /accounts/{id}/contacts.

No personal data is ever projected: only whether it was erased. Roles are kept
with the contact (a contact who left keeps its roles as history, flagged by
``left_company``); assignments are last-wins per (contact, role, deal).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from shared.eventstore import RecordedEvent
from shared.projections import BATCH_WINDOW, Projection

from ._util import CONTACT, load_rows, of, ts, uid, upsert_rows

COLUMNS = (
    "contact_id",
    "account_id",
    "name",
    "title",
    "department",
    "left_company",
    "personal_erased",
    "added_at",
    "updated_at",
    "version",
)
_SELECT = """
select contact_id, account_id, name, title, department, left_company, personal_erased,
       added_at, updated_at, version
from contacts where contact_id = any($1::uuid[])
"""
_UPSERT = """
insert into contacts (contact_id, account_id, name, title, department, left_company,
                      personal_erased, added_at, updated_at, version)
values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
on conflict (contact_id) do update set
    name = excluded.name, title = excluded.title, department = excluded.department,
    left_company = excluded.left_company, personal_erased = excluded.personal_erased,
    updated_at = excluded.updated_at, version = excluded.version
"""
_UPSERT_ROLE = """
insert into contact_roles (contact_id, role, deal_key, account_id, deal_id, influence, support,
                           assigned_at)
values ($1, $2, $3, $4, $5, $6, $7, $8)
on conflict (contact_id, role, deal_key) do update set
    influence = excluded.influence, support = excluded.support, assigned_at = excluded.assigned_at
"""
_DELETE_ROLE = "delete from contact_roles where contact_id = $1 and role = $2 and deal_key = $3"
_OF_ACCOUNT = """
select c.contact_id, c.account_id, c.name, c.title, c.department, c.left_company,
       c.personal_erased, c.updated_at, c.version,
       coalesce((select jsonb_agg(jsonb_build_object('role', r.role, 'deal_id', r.deal_id,
                                                     'influence', r.influence,
                                                     'support', r.support)
                                  order by r.role, r.deal_key)
                 from contact_roles r where r.contact_id = c.contact_id), '[]'::jsonb) as roles
from contacts c
where c.account_id = $1
  and ($2::text is null or (c.name, c.contact_id) > ($2, $3::uuid))
order by c.name, c.contact_id
limit $4
"""

_FIELDS = ("name", "title", "department")


class Contacts(Projection):
    name = "contacts"
    tables = ("contacts", "contact_roles")
    batch_window = BATCH_WINDOW

    async def apply(self, conn: asyncpg.Connection, events: list[RecordedEvent]) -> None:
        mine = of(events, CONTACT)
        if not mine:
            return
        ids = [UUID(e.data["contact_id"]) for e in mine]
        rows = await load_rows(conn, _SELECT, "contact_id", ids)
        roles: dict[tuple[UUID, str, str], tuple | None] = {}  # None: removed
        for event in mine:
            _fold(rows, roles, event)
        await upsert_rows(conn, _UPSERT, COLUMNS, rows.values())
        upserts = [(*k, *v) for k, v in roles.items() if v is not None]
        deletes = [k for k, v in roles.items() if v is None]
        if upserts:
            await conn.executemany(_UPSERT_ROLE, upserts)
        if deletes:
            await conn.executemany(_DELETE_ROLE, deletes)


def _fold(rows: dict, roles: dict, event: RecordedEvent) -> None:
    data, cid = event.data, UUID(event.data["contact_id"])
    at = ts(data["at"])
    if event.type == "ContactAdded":
        rows[cid] = {
            "contact_id": cid,
            "account_id": UUID(data["account_id"]),
            "left_company": False,
            "personal_erased": False,
            "added_at": at,
            **{f: data[f] for f in _FIELDS},
        }
    row = rows.get(cid)
    if row is None:
        return
    match event.type:
        case "ContactUpdated":
            row.update({f: data[f] for f in _FIELDS if data.get(f) is not None})
        case "ContactLeft":
            row["left_company"] = True
        case "PersonalDataErased":
            row["personal_erased"] = True
        case "BuyingRoleAssigned":
            key = (cid, data["role"], data["deal_id"] or "")
            deal = uid(data["deal_id"])
            roles[key] = (row["account_id"], deal, data["influence"], data["support"], at)
        case "BuyingRoleRemoved":
            roles[(cid, data["role"], data["deal_id"] or "")] = None
    row["updated_at"], row["version"] = at, event.version


async def of_account(
    pool: asyncpg.Pool, account_id: UUID, after: list[Any] | None, limit: int
) -> tuple[list[dict[str, Any]], list[Any] | None]:
    """A page of an account's contacts in name order, and the next cursor values (or None)."""
    after_name, after_id = after or (None, None)
    rows = await pool.fetch(_OF_ACCOUNT, account_id, after_name, after_id, limit + 1)
    items = []
    for row in rows[:limit]:
        item = dict(row)
        item["id"] = item.pop("contact_id")
        item["left"] = item.pop("left_company")
        items.append(item)
    more = len(rows) > limit
    return items, [rows[limit - 1]["name"], rows[limit - 1]["contact_id"]] if more else None
