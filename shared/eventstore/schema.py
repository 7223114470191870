"""DDL of the event store, applied inside a service's own schema by its migrations.

Statements are unqualified: the migration sets ``search_path`` to the service
schema first, so the same text serves ``accounts``, ``deals`` and test schemas.
"""

from __future__ import annotations

_STREAMS_TABLE = """
    create table streams (
        stream_id    text primary key,
        stream_type  text    not null,
        version      integer not null,
        last_hash    bytea
    )
    """

# The first form of the multi-event append (up to migration 0012): the stream row
# holds the version and head hash.
_APPEND_EVENTS_V1 = """
    create function append_events(
        p_stream_id text, p_stream_type text, p_expected integer,
        p_event_ids uuid[], p_types text[], p_schema_versions integer[],
        p_data jsonb[], p_metadata jsonb[], p_bodies text[], p_recorded_at timestamptz,
        p_idem_scope text, p_idem_key text, p_idem_request bytea,
        p_idem_status integer, p_idem_response jsonb
    ) returns bigint language plpgsql as $$
    declare
        v_version integer;
        v_hash bytea;
        v_position bigint := 0;
        n integer := coalesce(array_length(p_event_ids, 1), 0);
    begin
        if p_expected = 0 then
            insert into streams (stream_id, stream_type, version)
                values (p_stream_id, p_stream_type, 0)
                on conflict do nothing;
            if not found then
                select version into v_version from streams where stream_id = p_stream_id;
                raise exception 'stream % is at version %, not 0', p_stream_id, v_version
                    using errcode = 'DT409', detail = v_version::text;
            end if;
            v_version := 0;
        else
            select version, last_hash into v_version, v_hash
                from streams where stream_id = p_stream_id for update;
            if not found or v_version <> p_expected then
                raise exception 'stream % is at version %, not %',
                        p_stream_id, coalesce(v_version, 0), p_expected
                    using errcode = 'DT409', detail = coalesce(v_version, 0)::text;
            end if;
        end if;
        for i in 1 .. n loop
            v_version := v_version + 1;
            v_hash := sha256(coalesce(v_hash, ''::bytea) || convert_to(p_bodies[i], 'UTF8'));
            insert into events (stream_id, stream_type, version, event_id, event_type,
                                schema_version, data, metadata, recorded_at, hash)
                values (p_stream_id, p_stream_type, v_version, p_event_ids[i], p_types[i],
                        p_schema_versions[i], p_data[i], p_metadata[i], p_recorded_at, v_hash)
                returning position into v_position;
        end loop;
        if n > 0 then
            update streams set version = v_version, last_hash = v_hash
                where stream_id = p_stream_id;
        end if;
        if p_idem_key is not null then
            insert into idempotency (scope, key, request_hash, status, response, stream_id)
                values (p_idem_scope, p_idem_key, p_idem_request, p_idem_status,
                        p_idem_response, p_stream_id);
        end if;
        return v_position;
    end $$
    """

EVENTSTORE_DDL: tuple[str, ...] = (
    """
    create table events (
        position        bigint generated always as identity primary key,
        stream_id       text        not null,
        stream_type     text        not null,
        version         integer     not null check (version > 0),
        event_id        uuid        not null unique,
        event_type      text        not null,
        schema_version  integer     not null default 1,
        data            jsonb       not null,
        metadata        jsonb       not null default '{}'::jsonb,
        recorded_at     timestamptz not null,
        -- The writing transaction's id: the feed orders by it and reads only
        -- below the oldest running transaction, so no commit is ever skipped.
        tx_id           xid8        not null default pg_current_xact_id(),
        hash            bytea       not null,
        unique (stream_id, version)
    )
    """,
    "create index events_feed_idx on events (tx_id, position)",
    "create index events_type_idx on events (event_type, tx_id, position)",
    "create index events_recorded_at_idx on events (recorded_at)",
    _STREAMS_TABLE,
    """
    create table idempotency (
        scope         text        not null,
        key           text        not null,
        request_hash  bytea       not null,
        status        integer     not null,
        response      jsonb       not null,
        stream_id     text,
        created_at    timestamptz not null default now(),
        primary key (scope, key)
    )
    """,
    """
    create table checkpoints (
        name        text primary key,
        tx_id       xid8        not null default '0'::xid8,
        position    bigint      not null default 0,
        updated_at  timestamptz not null default now()
    )
    """,
    # History is immutable in the database itself, not only in code.
    """
    create function reject_event_change() returns trigger language plpgsql as $$
    begin
        raise exception 'events are immutable: % is not allowed', tg_op
            using errcode = 'DT403';
    end $$
    """,
    """
    create trigger events_immutable_rows before update or delete on events
        for each row execute function reject_event_change()
    """,
    """
    create trigger events_immutable_truncate before truncate on events
        for each statement execute function reject_event_change()
    """,
    _APPEND_EVENTS_V1,
)

# From migration 0012 on, an append writes its event rows and nothing else: the
# (stream_id, version) key is the version check (the next version can be
# inserted once, so a stale writer finds it taken), and the previous event's
# row holds the hash to chain from. The multi-event form, one round trip:
_APPEND_EVENTS_V2 = """
    create function append_events(
        p_stream_id text, p_stream_type text, p_expected integer,
        p_event_ids uuid[], p_types text[], p_schema_versions integer[],
        p_data jsonb[], p_metadata jsonb[], p_bodies text[], p_recorded_at timestamptz,
        p_idem_scope text, p_idem_key text, p_idem_request bytea,
        p_idem_status integer, p_idem_response jsonb
    ) returns bigint language plpgsql as $$
    declare
        v_version integer := p_expected;
        v_hash bytea;
        v_position bigint := 0;
        n integer := coalesce(array_length(p_event_ids, 1), 0);
    begin
        if p_expected > 0 then
            select hash into v_hash from events
                where stream_id = p_stream_id and version = p_expected;
        end if;
        if (p_expected > 0 and v_hash is null) or (n = 0 and exists (
                select from events where stream_id = p_stream_id and version > p_expected)) then
            v_version := (select coalesce(max(version), 0) from events
                          where stream_id = p_stream_id);
            raise exception 'stream % is at version %, not %', p_stream_id, v_version, p_expected
                using errcode = 'DT409', detail = v_version::text;
        end if;
        for i in 1 .. n loop
            v_version := v_version + 1;
            v_hash := sha256(coalesce(v_hash, ''::bytea) || convert_to(p_bodies[i], 'UTF8'));
            insert into events (stream_id, stream_type, version, event_id, event_type,
                                schema_version, data, metadata, recorded_at, hash)
                values (p_stream_id, p_stream_type, v_version, p_event_ids[i], p_types[i],
                        p_schema_versions[i], p_data[i], p_metadata[i], p_recorded_at, v_hash)
                on conflict (stream_id, version) do nothing
                returning position into v_position;
            if not found then
                v_version := (select coalesce(max(version), 0) from events
                              where stream_id = p_stream_id);
                raise exception 'stream % is at version %, not %',
                        p_stream_id, v_version, p_expected
                    using errcode = 'DT409', detail = v_version::text;
            end if;
        end loop;
        if p_idem_key is not null then
            insert into idempotency (scope, key, request_hash, status, response, stream_id)
                values (p_idem_scope, p_idem_key, p_idem_request, p_idem_status,
                        p_idem_response, p_stream_id);
        end if;
        return v_position;
    end $$
    """

# Migration 0012 of each service. Besides the stream rows, appends no longer
# write index entries nothing reads: events are never looked up by event_id (a
# random UUID, whose index took a random page write per append); type-filtered
# feed reads walk the (tx_id, position) index and filter; time ranges (audit
# exports) read a BRIN summary, which appends barely touch because recorded_at
# grows with the table.
LEAN_APPENDS_DDL: tuple[str, ...] = (
    "drop function append_events",
    "drop table streams",
    _APPEND_EVENTS_V2,
    "alter table events drop constraint events_event_id_key",
    "drop index events_type_idx",
    "drop index events_recorded_at_idx",
    "create index events_recorded_at_brin on events using brin (recorded_at)",
)
LEAN_APPENDS_UNDO: tuple[str, ...] = (
    "drop index events_recorded_at_brin",
    "create index events_recorded_at_idx on events (recorded_at)",
    "create index events_type_idx on events (event_type, tx_id, position)",
    "alter table events add constraint events_event_id_key unique (event_id)",
    "drop function append_events",
    _STREAMS_TABLE,
    """
    insert into streams (stream_id, stream_type, version, last_hash)
    select distinct on (stream_id) stream_id, stream_type, version, hash
    from events order by stream_id, version desc
    """,
    _APPEND_EVENTS_V1,
)

DROP_EVENTSTORE_DDL: tuple[str, ...] = (
    "drop function if exists append_events",
    "drop table if exists checkpoints",
    "drop table if exists idempotency",
    "drop table if exists streams",
    "drop table if exists events",
    "drop function if exists reject_event_change",
)


async def install(conn, schema: str) -> None:
    """Create ``schema`` and the event store inside it (tests, tools; services migrate)."""
    from shared.embedded_pg import quote_ident

    async with conn.transaction():
        await conn.execute("create schema if not exists " + quote_ident(schema))
        await conn.execute("select set_config('search_path', $1, true)", quote_ident(schema))
        for statement in EVENTSTORE_DDL + LEAN_APPENDS_DDL:
            await conn.execute(statement)
