"""Webhook signing secrets are stored sealed under the master key, never in plain text."""

from __future__ import annotations

import base64
import json
import secrets
import uuid

import asyncpg
import pytest
from cryptography.exceptions import InvalidTag

from shared.fanout import signing
from shared.fanout.api import SubscriptionCreate
from shared.http.conditional import request_fingerprint
from shared.http.service import create_service_app
from shared.migrate import downgrade, upgrade
from tests.integration.fanout.conftest import open_counters, until
from tests.integration.fanout.test_webhooks import SERVICE, settings, signed_correctly, subscribe
from tests.support.counter import counter_spec
from tests.support.http import serve

MASTER_KEY = base64.b64encode(b"k" * 32).decode()


def leaks(secret: str, dumps: list[str]) -> bool:
    """Whether the secret, or its key in any usual spelling, appears in the dumped rows."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    spellings = {secret.removeprefix("whsec_"), key.hex(), base64.urlsafe_b64encode(key).decode()}
    return any(s in dump for s in spellings for dump in dumps)


async def dump_rows(db: asyncpg.Pool | asyncpg.Connection) -> list[str]:
    """Every column of every subscription and every stored answer, as text."""
    rows = await db.fetch("select s::text from webhook_subscriptions s")
    rows += await db.fetch("select i::text from idempotency i")
    return [r[0] for r in rows]


async def test_the_secret_is_shown_once_stored_sealed_and_still_signs(
    db_url, fanout_schema, pool, receiver
) -> None:
    app = create_service_app(counter_spec(fanout_schema), settings(db_url, master_key=MASTER_KEY))
    async with serve(app) as client:
        once = {**SERVICE, "Idempotency-Key": "sealed-1"}
        created = await client.post("/subscriptions", json={"url": receiver.url}, headers=once)
        assert created.status_code == 201, created.text
        sub = created.json()
        secret = sub["secret"]
        await open_counters(client, 2)
        await until(lambda: len(receiver.accepted) == 2, what="deliveries")

        replayed = await client.post("/subscriptions", json={"url": receiver.url}, headers=once)
        assert replayed.headers["idempotent-replayed"] == "true"
        assert replayed.json() == sub  # the retried POST gets the same answer, secret too
        shown = (await client.get(f"/subscriptions/{sub['id']}", headers=SERVICE)).json()
        assert "secret" not in shown

    for headers, body in receiver.accepted:
        assert signed_correctly(secret, headers, body)
    dumps = await dump_rows(pool)
    assert len(dumps) == 2  # the subscription and the stored answer to its POST
    assert not leaks(secret, dumps)
    sealed = await pool.fetchval("select sealed_secret from webhook_subscriptions")
    assert signing.open_secret(base64.b64decode(MASTER_KEY), uuid.UUID(sub["id"]), sealed) == secret


def test_a_sealed_secret_opens_only_under_its_key_and_subscription() -> None:
    key, other = secrets.token_bytes(32), secrets.token_bytes(32)
    mine, theirs = uuid.uuid4(), uuid.uuid4()
    sealed = signing.seal_secret(key, mine, "whsec_c2VjcmV0")
    assert signing.open_secret(key, mine, sealed) == "whsec_c2VjcmV0"
    for wrong_key, wrong_id in ((other, mine), (key, theirs)):
        with pytest.raises(InvalidTag):
            signing.open_secret(wrong_key, wrong_id, sealed)


async def test_a_changed_master_key_stops_deliveries_with_a_clear_error(
    db_url, fanout_schema, receiver
) -> None:
    first = create_service_app(counter_spec(fanout_schema), settings(db_url, master_key=MASTER_KEY))
    async with serve(first) as client:
        sub = await subscribe(client, receiver.url)
    other = base64.b64encode(b"o" * 32).decode()
    second = create_service_app(counter_spec(fanout_schema), settings(db_url, master_key=other))
    async with serve(second) as client:
        await open_counters(client, 1)

        async def failed() -> bool:
            status = (await client.get(f"/subscriptions/{sub['id']}", headers=SERVICE)).json()
            return "MASTER_KEY" in (status["last_error"] or "")

        await until(failed, what="the delivery failure noted")
    assert receiver.attempts == []  # nothing went out unsigned or wrongly signed


@pytest.fixture
async def schema_at_0100(db_url, unused_schema) -> str:
    """A deals schema migrated up to the plaintext subscriptions table (revision 0100)."""
    await upgrade(db_url, "deals", schema=unused_schema, revision="0100")
    return unused_schema


async def test_the_migration_seals_stored_secrets_and_they_keep_signing(
    db_url, schema_at_0100, receiver, monkeypatch, tmp_path
) -> None:
    schema = schema_at_0100
    secret, sub_id = signing.new_secret(), uuid.uuid4()
    create = SubscriptionCreate(url=receiver.url)
    answer = {
        "body": {"id": str(sub_id), "url": receiver.url, "secret": secret},
        "headers": {"Location": f"/subscriptions/{sub_id}"},
    }
    conn = await asyncpg.connect(db_url, server_settings={"search_path": schema})
    try:
        await conn.execute(
            "insert into webhook_subscriptions (id, owner, url, secret) values ($1, $2, $3, $4)",
            sub_id,
            "svc-crm",
            receiver.url,
            secret,
        )
        await conn.execute(
            "insert into idempotency (scope, key, request_hash, status, response)"
            " values ($1, $2, $3, 201, $4::jsonb)",
            "subscriptions:svc-crm",
            "before-0101",
            request_fingerprint("POST", "/subscriptions", create.model_dump(mode="json")),
            json.dumps(answer),
        )
        assert leaks(secret, await dump_rows(conn))  # what 0100 kept: the scan sees it
    finally:
        await conn.close()

    monkeypatch.setenv("MASTER_KEY", MASTER_KEY)
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    await upgrade(db_url, "deals", schema=schema)

    app = create_service_app(counter_spec(schema), settings(db_url, master_key=MASTER_KEY))
    async with serve(app) as client:
        pool = app.state.runtime.pool
        columns = await pool.fetch(
            "select column_name from information_schema.columns"
            " where table_schema = $1 and table_name = 'webhook_subscriptions'",
            schema,
        )
        assert "secret" not in {c[0] for c in columns}
        assert not leaks(secret, await dump_rows(pool))

        replayed = await client.post(
            "/subscriptions",
            json={"url": receiver.url},
            headers={**SERVICE, "Idempotency-Key": "before-0101"},
        )
        assert replayed.status_code == 201 and replayed.json()["secret"] == secret
        await open_counters(client, 1)
        await until(lambda: len(receiver.accepted) == 1, what="a delivery")
    headers, body = receiver.accepted[0]
    assert signed_correctly(secret, headers, body)  # the receiver's secret did not change

    await downgrade(db_url, "deals", schema, "0101-1")
    conn = await asyncpg.connect(db_url, server_settings={"search_path": schema})
    try:
        assert await conn.fetchval("select secret from webhook_subscriptions") == secret
        restored = await conn.fetchval("select response::text from idempotency")
        assert secret in restored and "sealed_secret" not in restored
    finally:
        await conn.close()
