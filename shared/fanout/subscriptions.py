"""Webhook subscriptions in the service schema: the only SQL the webhook code runs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from shared.eventstore import IdempotencyRecord
from shared.eventstore.types import Cursor

LAG_CAP = 10_000

_COLUMNS = """id, owner, url, event_types, description, sealed_secret, status, tx_id, position,
              delivered, attempts, next_attempt_at, last_error, last_attempt_at,
              last_delivered_at, created_at, updated_at"""
_CREATE = f"""
insert into webhook_subscriptions (id, owner, url, event_types, description,
                                   sealed_secret, tx_id, position)
values ($1, $2, $3, $4, $5, $6, $7::xid8, $8)
returning {_COLUMNS}
"""
_REMEMBER = """
insert into idempotency (scope, key, request_hash, status, response)
values ($1, $2, $3, $4, $5)
"""
_GET = f"select {_COLUMNS} from webhook_subscriptions where id = $1"
_LIST = f"""
select {_COLUMNS} from webhook_subscriptions
where ($1::text is null or owner = $1) and ($2::uuid is null or id > $2)
order by id
limit $3
"""
# A paused subscription that is resumed is retried at once, from its checkpoint.
_UPDATE = f"""
update webhook_subscriptions set
    status = coalesce($2, status),
    url = coalesce($3, url),
    event_types = case when $4 then $5::text[] else event_types end,
    description = case when $6 then $7 else description end,
    attempts = case when $2 = 'active' and status = 'paused' then 0 else attempts end,
    next_attempt_at = case when $2 = 'active' then null else next_attempt_at end,
    updated_at = now()
where id = $1
returning {_COLUMNS}
"""
_DELETE = "delete from webhook_subscriptions where id = $1"
_ACTIVE = "select id, updated_at from webhook_subscriptions where status = 'active'"
# Compare-and-set: only the worker that read this checkpoint may move it.
# While it runs, a refusal also tells it that the subscription was paused;
# on its way out it records what it did deliver even so ($7).
_ADVANCE = """
update webhook_subscriptions set
    tx_id = $4::xid8, position = $5, delivered = delivered + $6, attempts = 0,
    next_attempt_at = null, last_error = null, last_attempt_at = now(),
    last_delivered_at = now()
where id = $1 and tx_id = $2::xid8 and position = $3 and (status = 'active' or $7)
"""
_FAILED = """
update webhook_subscriptions set
    attempts = attempts + 1, last_error = $4, last_attempt_at = now(),
    next_attempt_at = now() + make_interval(secs => $5)
where id = $1 and tx_id = $2::xid8 and position = $3
returning attempts
"""
_LAG = """
select count(*) from (
    select 1 from events
    where (tx_id, position) > ($1::xid8, $2::bigint)
      and tx_id < pg_snapshot_xmin(pg_current_snapshot())
      and ($3::text[] is null or event_type = any($3::text[]))
    limit $4
) behind
"""
_TABLE_EXISTS = "select to_regclass('webhook_subscriptions') is not null"
_ANNOUNCE = "select pg_notify($1, $2)"


@dataclass(frozen=True, slots=True)
class Subscription:
    """One webhook subscription as stored; its signing secret stays sealed (see ``signing``)."""

    id: UUID
    owner: str
    url: str
    event_types: list[str] | None
    description: str | None
    sealed_secret: dict[str, str]
    status: str
    checkpoint: Cursor
    delivered: int
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    last_attempt_at: datetime | None
    last_delivered_at: datetime | None
    created_at: datetime
    updated_at: datetime


def _row(row: asyncpg.Record | None) -> Subscription | None:
    if row is None:
        return None
    values: dict[str, Any] = dict(row)
    values["checkpoint"] = Cursor(values.pop("tx_id"), values.pop("position"))
    types = values["event_types"]
    values["event_types"] = list(types) if types is not None else None
    return Subscription(**values)


async def table_exists(pool: asyncpg.Pool | asyncpg.Connection) -> bool:
    """Whether this schema was migrated with the subscriptions table."""
    return bool(await pool.fetchval(_TABLE_EXISTS))


async def create(
    pool: asyncpg.Pool,
    *,
    id: UUID,
    owner: str,
    url: str,
    event_types: Sequence[str] | None,
    description: str | None,
    sealed_secret: dict[str, str],
    start: Cursor,
    remember: Callable[[Subscription], IdempotencyRecord] | None = None,
) -> Subscription:
    """Store a new subscription whose first delivery is the first event after ``start``.

    ``remember`` builds the idempotency record of the response, stored in the
    same transaction; a concurrent twin with the same key makes this raise
    :class:`asyncpg.UniqueViolationError` and store nothing.
    """
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            _CREATE,
            id,
            owner,
            url,
            list(event_types) if event_types is not None else None,
            description,
            sealed_secret,
            start.tx_id,
            start.position,
        )
        created: Subscription = _row(row)  # type: ignore[assignment]
        if remember is not None:
            r = remember(created)
            await conn.execute(_REMEMBER, r.scope, r.key, r.request_hash, r.status, r.response)
    return created


async def get(pool: asyncpg.Pool, id: UUID) -> Subscription | None:
    """One subscription, or None."""
    return _row(await pool.fetchrow(_GET, id))


async def list_page(
    pool: asyncpg.Pool, owner: str | None, after: UUID | None, limit: int
) -> list[Subscription]:
    """Subscriptions ordered by id after ``after``; ``owner=None`` lists everyone's."""
    rows = await pool.fetch(_LIST, owner, after, limit)
    return [_row(r) for r in rows]  # type: ignore[misc]


async def update(
    pool: asyncpg.Pool,
    id: UUID,
    *,
    status: str | None = None,
    url: str | None = None,
    event_types: tuple[bool, list[str] | None] = (False, None),
    description: tuple[bool, str | None] = (False, None),
) -> Subscription | None:
    """Change some fields; ``(True, value)`` pairs set nullable fields (to null too)."""
    row = await pool.fetchrow(
        _UPDATE, id, status, url, event_types[0], event_types[1], description[0], description[1]
    )
    return _row(row)


async def delete(pool: asyncpg.Pool, id: UUID) -> bool:
    """Remove a subscription; False if there was none."""
    return (await pool.execute(_DELETE, id)).endswith(" 1")


async def announce(pool: asyncpg.Pool, channel: str, id: UUID) -> None:
    """Tell every replica's delivery worker that a subscription changed (after commit)."""
    await pool.execute(_ANNOUNCE, channel, str(id))


async def active_versions(pool: asyncpg.Pool) -> dict[UUID, datetime]:
    """Every subscription that should be delivering, with when it was last changed."""
    return {r["id"]: r["updated_at"] for r in await pool.fetch(_ACTIVE)}


async def advance(
    pool: asyncpg.Pool,
    id: UUID,
    frm: Cursor,
    to: Cursor,
    delivered: int,
    *,
    even_if_paused: bool = False,
) -> bool:
    """Move the checkpoint past ``delivered`` events; False if it moved (or paused) meanwhile."""
    result = await pool.execute(
        _ADVANCE, id, frm.tx_id, frm.position, to.tx_id, to.position, delivered, even_if_paused
    )
    return result.endswith(" 1")


async def record_failure(
    pool: asyncpg.Pool, id: UUID, at: Cursor, error: str, retry_in: float
) -> int | None:
    """Note a failed attempt and when to retry; returns the consecutive failure count."""
    return await pool.fetchval(_FAILED, id, at.tx_id, at.position, error[:500], retry_in)


async def lag(pool: asyncpg.Pool, subscription: Subscription, cap: int = LAG_CAP) -> int:
    """Matching events not yet delivered (counted up to ``cap``)."""
    c = subscription.checkpoint
    return await pool.fetchval(_LAG, c.tx_id, c.position, subscription.event_types, cap)
