"""DDL of webhook subscriptions, and the data steps its migrations run, inside a service schema.

A subscription is its own catch-up subscriber: ``(tx_id, position)`` is its
checkpoint in the feed, advanced only after a receiver acknowledged the event.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from uuid import UUID

from sqlalchemy import Connection, text

from shared.fanout.signing import open_secret, seal_secret
from shared.settings import Settings

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

# Revision 0101 keeps the signing secret sealed under the master key. Its
# migration adds the column, seals what is stored, then drops the plaintext.
ADD_SEALED_SECRET_DDL = "alter table webhook_subscriptions add column sealed_secret jsonb"
DROP_PLAINTEXT_SECRET_DDL: tuple[str, ...] = (
    "alter table webhook_subscriptions alter column sealed_secret set not null",
    "alter table webhook_subscriptions drop column secret",
)
ADD_PLAINTEXT_SECRET_DDL = "alter table webhook_subscriptions add column secret text"
DROP_SEALED_SECRET_DDL: tuple[str, ...] = (
    "alter table webhook_subscriptions alter column secret set not null",
    "alter table webhook_subscriptions drop column sealed_secret",
)


async def install_subscriptions(conn, schema: str) -> None:
    """Create the subscriptions table in ``schema`` (tests and tools; services migrate)."""
    from shared.embedded_pg import quote_ident

    async with conn.transaction():
        await conn.execute("select set_config('search_path', $1, true)", quote_ident(schema))
        for statement in (*SUBSCRIPTIONS_DDL, ADD_SEALED_SECRET_DDL, *DROP_PLAINTEXT_SECRET_DDL):
            await conn.execute(statement)


_PLAINTEXT = "select id, secret from webhook_subscriptions"
_SEAL = """
update webhook_subscriptions set sealed_secret = cast(:sealed as jsonb) where id = :id
"""
_SEALED = "select id, sealed_secret::text as sealed from webhook_subscriptions"
_UNSEAL = "update webhook_subscriptions set secret = :secret where id = :id"
# The answers to POST /subscriptions kept for idempotent replays hold the secret too.
_ANSWERS = """
select scope, key, response::text as response from idempotency
where scope like 'subscriptions:%'
"""
_REWRITE_ANSWER = """
update idempotency set response = cast(:response as jsonb) where scope = :scope and key = :key
"""


def migrate_to_sealed_secrets(conn: Connection) -> None:
    """Revision 0101, up: add ``sealed_secret``, seal every stored secret (and the
    copies in the answers to ``POST /subscriptions`` kept for idempotent replays),
    drop ``secret`` — all in the migration's transaction, so no plaintext survives
    the upgrade and the schema has one shape. Sealing at the service's next start
    instead would leave plaintext at rest until then and a second code path.

    The master key comes from the settings (``MASTER_KEY``, or the dev key in
    ``DATA_DIR``), read only when there are secrets to seal: an empty schema
    migrates without one."""
    conn.execute(text(ADD_SEALED_SECRET_DDL))
    seal_stored_secrets(conn, _master_key)
    for statement in DROP_PLAINTEXT_SECRET_DDL:
        conn.execute(text(statement))


def migrate_to_plaintext_secrets(conn: Connection) -> None:
    """Revision 0101, down: the secrets opened again into the plaintext column."""
    conn.execute(text(ADD_PLAINTEXT_SECRET_DDL))
    open_stored_secrets(conn, _master_key)
    for statement in DROP_SEALED_SECRET_DDL:
        conn.execute(text(statement))


def _master_key() -> bytes:
    return Settings().master_key_bytes


def seal_stored_secrets(conn: Connection, master_key: Callable[[], bytes]) -> int:
    """Revision 0101's data step: seal every plaintext secret, stored answers included.

    ``master_key`` is asked for only when there is something to seal, so an
    empty schema migrates without one. Returns how many secrets were sealed.
    """
    rows = conn.execute(text(_PLAINTEXT)).all()
    answers = [a for a in _answers(conn) if "secret" in a[2]["body"]]
    if not rows and not answers:
        return 0
    key = master_key()
    for id, secret in rows:
        sealed = seal_secret(key, id, secret)
        conn.execute(text(_SEAL), {"sealed": json.dumps(sealed), "id": id})
    for scope, k, response in answers:
        body = response["body"]
        response["sealed_secret"] = seal_secret(key, UUID(body["id"]), body.pop("secret"))
        _rewrite(conn, scope, k, response)
    return len(rows) + len(answers)


def open_stored_secrets(conn: Connection, master_key: Callable[[], bytes]) -> int:
    """Undo :func:`seal_stored_secrets` (revision 0101's downgrade)."""
    rows = conn.execute(text(_SEALED)).all()
    answers = [a for a in _answers(conn) if "sealed_secret" in a[2]]
    if not rows and not answers:
        return 0
    key = master_key()
    for id, sealed in rows:
        conn.execute(text(_UNSEAL), {"secret": open_secret(key, id, json.loads(sealed)), "id": id})
    for scope, k, response in answers:
        body = response["body"]
        body["secret"] = open_secret(key, UUID(body["id"]), response.pop("sealed_secret"))
        _rewrite(conn, scope, k, response)
    return len(rows) + len(answers)


def _answers(conn: Connection) -> list[tuple[str, str, dict]]:
    return [(r.scope, r.key, json.loads(r.response)) for r in conn.execute(text(_ANSWERS))]


def _rewrite(conn: Connection, scope: str, key: str, response: dict) -> None:
    params = {"response": json.dumps(response), "scope": scope, "key": key}
    conn.execute(text(_REWRITE_ANSWER), params)
