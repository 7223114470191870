"""DDL of webhook subscriptions, applied inside a service schema by its migrations.

A subscription is its own catch-up subscriber: ``(tx_id, position)`` is its
checkpoint in the feed, advanced only after a receiver acknowledged the event.
"""

from __future__ import annotations

SUBSCRIPTIONS_DDL: tuple[str, ...] = (
    """
    create table webhook_subscriptions (
        id                 uuid        primary key,
        owner              text        not null,
        url                text        not null,
        event_types        text[],
        description        text,
        secret             text        not null,
        status             text        not null default 'active'
                                       check (status in ('active', 'paused')),
        tx_id              xid8        not null default '0'::xid8,
        position           bigint      not null default 0,
        delivered          bigint      not null default 0,
        attempts           integer     not null default 0,
        next_attempt_at    timestamptz,
        last_error         text,
        last_attempt_at    timestamptz,
        last_delivered_at  timestamptz,
        created_at         timestamptz not null default now(),
        updated_at         timestamptz not null default now()
    )
    """,
    "create index webhook_subscriptions_owner_idx on webhook_subscriptions (owner, id)",
)

DROP_SUBSCRIPTIONS_DDL: tuple[str, ...] = ("drop table if exists webhook_subscriptions",)


async def install_subscriptions(conn, schema: str) -> None:
    """Create the subscriptions table in ``schema`` (tests and tools; services migrate)."""
    from shared.embedded_pg import quote_ident

    async with conn.transaction():
        await conn.execute("select set_config('search_path', $1, true)", quote_ident(schema))
        for statement in SUBSCRIPTIONS_DDL:
            await conn.execute(statement)
