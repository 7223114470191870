"""The SQL the event store runs (:mod:`shared.eventstore.store`), parameterised.

Appends: one event as one ``insert`` (chained from a known hash, or from the
previous row), optionally recording the idempotency key in the same statement;
several events through the ``append_events`` function. Reads: a stream, the
global feed (only what every older transaction has committed), the head, lag
counts, and a command's idempotency record with the stream in one round trip.
"""

from __future__ import annotations

APPEND = """
select append_events($1, $2, $3, $4::uuid[], $5::text[], $6::integer[], $7::jsonb[],
                     $8::jsonb[], $9::text[], $10, $11, $12, $13, $14, $15)
"""
# One event, the common case, as one statement. The (stream_id, version) key is
# the version check: a writer that read an older version finds the next one
# taken, gets no row back and writes nothing. When the hash to chain from is
# known ($9 is then the new event's hash) the append is a plain insert;
# otherwise the previous event's row supplies it ($9 is the canonical body).
EVENT_COLUMNS = """stream_id, stream_type, version, event_id, event_type,
                    schema_version, data, metadata, recorded_at, hash"""
INSERT_CHAINED = f"""
insert into events ({EVENT_COLUMNS})
values ($1, $2, $3 + 1, $4, $5, $6, $7, $8, $10, $9)
on conflict (stream_id, version) do nothing
returning position, hash
"""
INSERT_AFTER_PREVIOUS = f"""
insert into events ({EVENT_COLUMNS})
select $1, $2, $3 + 1, $4, $5, $6, $7, $8, $10, sha256(hash || convert_to($9, 'UTF8'))
from events where stream_id = $1 and version = $3
on conflict (stream_id, version) do nothing
returning position, hash
"""


def _with_idempotency(insert: str) -> str:
    """The same append, also recording the idempotency key ($11-$15) if it wrote."""
    return f"""
with event as ({insert}),
idem as (
    insert into idempotency (scope, key, request_hash, status, response, stream_id)
    select $11, $12, $13, $14, $15, $1 from event
)
select position, hash from event
"""


# (hash known?, idempotency record?) -> statement
APPEND_ONE = {
    (True, False): INSERT_CHAINED,
    (False, False): INSERT_AFTER_PREVIOUS,
    (True, True): _with_idempotency(INSERT_CHAINED),
    (False, True): _with_idempotency(INSERT_AFTER_PREVIOUS),
}
COLUMNS = """position, tx_id, stream_id, stream_type, version, event_id, event_type,
              schema_version, data, metadata, recorded_at, hash"""
READ_STREAM = f"""
select {COLUMNS} from events
where stream_id = $1 and version <= $2 and recorded_at <= $3
order by version
"""
# Only transactions older than every running one are read: their ids are below
# the snapshot's xmin, so nothing that commits later can sort before them.
READ_ALL = f"""
select {COLUMNS} from events
where (tx_id, position) > ($1::xid8, $2::bigint)
  and tx_id < pg_snapshot_xmin(pg_current_snapshot())
order by tx_id, position
limit $3
"""
READ_ALL_FILTERED = f"""
select {COLUMNS} from events
where (tx_id, position) > ($1::xid8, $2::bigint)
  and tx_id < pg_snapshot_xmin(pg_current_snapshot())
  and ($4::text[] is null or event_type = any($4::text[]))
  and ($5::text is null or stream_id = $5::text)
order by tx_id, position
limit $3
"""
HEAD = """
select tx_id, position from events
where tx_id < pg_snapshot_xmin(pg_current_snapshot())
order by tx_id desc, position desc
limit 1
"""
STREAM_VERSION = "select coalesce(max(version), 0) from events where stream_id = $1"
IDEMPOTENCY = """
select request_hash, status, response from idempotency where scope = $1 and key = $2
"""
COUNT_AFTER = """
select count(*) from events
where (tx_id, position) > ($1::xid8, $2::bigint)
  and tx_id < pg_snapshot_xmin(pg_current_snapshot())
"""
OLDEST_XID_AGE = """
select coalesce(max(age(backend_xid)), 0)::bigint from pg_stat_activity
where backend_xid is not null
"""

# A command's reads in one round trip: the response stored for its idempotency key
# and, only when there is none, the stream's events after the version the caller
# has already folded. Every row repeats the (null) record; with no events there is
# one row of nulls.
READ_FOR_COMMAND = f"""
select i.request_hash, i.status, i.response, e.*
from (values (1)) as one (x)
left join idempotency i on i.scope = $3 and i.key = $4
left join lateral (
    select {COLUMNS} from events
    where stream_id = $1 and version > $2 and i.key is null
) e on true
order by e.version
"""
