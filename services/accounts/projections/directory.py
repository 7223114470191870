"""The account directory: one row per account, for GET /accounts (filters, search, paging).

A batch loads the rows of the accounts it touches, folds its events into them
in order, and writes them back with one upsert: two round trips per batch
whatever its mix of events.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from services.accounts.domain.account import name_key
from shared.eventstore import RecordedEvent
from shared.projections import BATCH_WINDOW, Projection

from ._util import ACCOUNT, load_rows, of, ts, upsert_rows

COLUMNS = (
    "account_id",
    "name",
    "name_key",
    "industry",
    "region",
    "region_key",
    "scope",
    "owner_id",
    "grade",
    "tier",
    "relationship",
    "assessment_overall",
    "archived",
    "opened_at",
    "updated_at",
    "version",
)
_SELECT = """
select account_id, name, name_key, industry, region, region_key, scope, owner_id, grade, tier,
       relationship, assessment_overall, archived, opened_at, updated_at, version
from account_directory where account_id = any($1::uuid[])
"""
_UPSERT = """
insert into account_directory (account_id, name, name_key, industry, region, region_key, scope,
    owner_id, grade, tier, relationship, assessment_overall, archived, opened_at, updated_at,
    version)
values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
on conflict (account_id) do update set
    name = excluded.name, name_key = excluded.name_key, industry = excluded.industry,
    region = excluded.region, region_key = excluded.region_key, scope = excluded.scope,
    owner_id = excluded.owner_id, grade = excluded.grade, tier = excluded.tier,
    relationship = excluded.relationship, assessment_overall = excluded.assessment_overall,
    archived = excluded.archived, updated_at = excluded.updated_at, version = excluded.version
"""
# Keyset pagination in name order; each filter is skipped when its parameter is null.
_SEARCH = """
select account_id, name, name_key, industry, region, scope, owner_id, grade, tier,
       relationship, assessment_overall, archived, opened_at, updated_at, version
from account_directory
where ($1::text is null or grade = $1)
  and ($2::text is null or tier = $2)
  and ($3::text is null or owner_id = $3)
  and ($4::text is null or region_key = $4)
  and ($5::text is null or strpos(name_key, $5) > 0)
  and ($6::boolean is null or archived = $6)
  and ($7::text is null or (name_key, account_id) > ($7, $8::uuid))
order by name_key, account_id
limit $9
"""

_FIELDS = ("name", "industry", "region", "scope", "owner_id")


class AccountDirectory(Projection):
    name = "account_directory"
    tables = ("account_directory",)
    batch_window = BATCH_WINDOW

    async def apply(self, conn: asyncpg.Connection, events: list[RecordedEvent]) -> None:
        mine = of(events, ACCOUNT)
        if not mine:
            return
        ids = [UUID(e.data["account_id"]) for e in mine]
        rows = await load_rows(conn, _SELECT, "account_id", ids)
        for event in mine:
            _fold(rows, event)
        await upsert_rows(conn, _UPSERT, COLUMNS, rows.values())


def _fold(rows: dict[UUID, dict[str, Any]], event: RecordedEvent) -> None:
    data, aid = event.data, UUID(event.data["account_id"])
    if event.type == "AccountOpened":
        rows[aid] = {
            "account_id": aid,
            "grade": None,
            "tier": None,
            "relationship": "general",
            "assessment_overall": None,
            "archived": False,
            "opened_at": ts(data["at"]),
            **{f: data[f] for f in _FIELDS},
        }
    row = rows.get(aid)
    if row is None:
        return
    match event.type:
        case "AccountUpdated":
            row.update({f: data[f] for f in _FIELDS if data.get(f) is not None})
        case "AccountGraded":
            row["grade"] = data["grade"]
        case "AccountTierSet":
            row["tier"] = data["tier"]
        case "RelationshipSet":
            row["relationship"] = data["relationship"]
        case "RelationshipAssessed":
            row["assessment_overall"] = Decimal(data["overall"])
        case "AccountArchived":
            row["archived"] = True
    row["name_key"], row["region_key"] = name_key(row["name"]), name_key(row["region"])
    row["updated_at"], row["version"] = ts(data["at"]), event.version


@dataclass(frozen=True, slots=True)
class DirectoryFilter:
    grade: str | None = None
    tier: str | None = None
    owner_id: str | None = None
    region: str | None = None
    text: str | None = None
    archived: bool | None = False  # None: both


async def search(
    pool: asyncpg.Pool, where: DirectoryFilter, after: list[Any] | None, limit: int
) -> tuple[list[dict[str, Any]], list[Any] | None]:
    """A page of accounts in name order, and the cursor values of the next page (or None)."""
    region = name_key(where.region) if where.region else None
    text = name_key(where.text) if where.text else None
    after_key, after_id = after or (None, None)
    rows = await pool.fetch(
        _SEARCH,
        where.grade,
        where.tier,
        where.owner_id,
        region,
        text or None,
        where.archived,
        after_key,
        after_id,
        limit + 1,
    )
    items = [_summary(row) for row in rows[:limit]]
    more = len(rows) > limit
    return items, [rows[limit - 1]["name_key"], rows[limit - 1]["account_id"]] if more else None


def _summary(row: asyncpg.Record) -> dict[str, Any]:
    item = dict(row)
    item["id"] = item.pop("account_id")
    overall = item["assessment_overall"]
    item["assessment_overall"] = None if overall is None else f"{overall:.2f}"
    return item
