"""The event store's contract, on a real PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from shared.eventstore import (
    START,
    Cursor,
    EventStore,
    IdempotencyKeyReusedError,
    IdempotencyRecord,
    InvalidCursorError,
    NewEvent,
    Upcasters,
    WrongExpectedVersionError,
    fold,
    verify,
)
from shared.eventstore.canonical import chain_hash, event_body
from shared.eventstore.heads import StreamHeads


def ev(kind: str = "Happened", **data) -> NewEvent:
    return NewEvent(kind, data or {"n": 1})


def sid() -> str:
    return f"deal-{uuid.uuid4()}"


async def test_append_then_read_stream_in_version_order(store: EventStore) -> None:
    stream = sid()
    await store.append(stream, "deal", 0, [ev(n=1), ev(n=2)], {"actor": "u1"})
    result = await store.append(stream, "deal", 2, [ev(n=3)], {"actor": "u2"})

    events = await store.read_stream(stream)

    assert result.version == 3
    assert [e.version for e in events] == [1, 2, 3]
    assert [e.data["n"] for e in events] == [1, 2, 3]
    assert events[2].metadata == {"actor": "u2"}
    assert await store.stream_version(stream) == 3


async def test_stale_expected_version_is_a_conflict(store: EventStore) -> None:
    stream = sid()
    await store.append(stream, "deal", 0, [ev()])

    with pytest.raises(WrongExpectedVersionError) as err:
        await store.append(stream, "deal", 0, [ev()])
    assert err.value.actual == 1

    with pytest.raises(WrongExpectedVersionError):
        await store.append(stream, "deal", 5, [ev()])
    for expected in (0, 5):
        with pytest.raises(WrongExpectedVersionError) as err:
            await store.append(stream, "deal", expected, [ev(), ev()])
        assert err.value.actual == 1
    assert await store.stream_version(stream) == 1


async def test_two_concurrent_appends_at_same_version_exactly_one_wins(
    store: EventStore,
) -> None:
    for expected in (0, 1):
        stream = sid()
        if expected:
            await store.append(stream, "deal", 0, [ev()])
        results = await asyncio.gather(
            *(store.append(stream, "deal", expected, [ev(n=i)]) for i in range(2)),
            return_exceptions=True,
        )
        wins = [r for r in results if not isinstance(r, Exception)]
        losses = [r for r in results if isinstance(r, WrongExpectedVersionError)]
        assert len(wins) == 1 and len(losses) == 1
        assert len(await store.read_stream(stream)) == expected + 1


async def test_read_stream_up_to_version_and_as_of(pool: asyncpg.Pool) -> None:
    now = [datetime(2026, 3, 1, tzinfo=UTC)]
    store = EventStore(pool, clock=lambda: now[0])
    stream = sid()
    for day in range(3):
        now[0] = datetime(2026, 3, 1 + day, 12, tzinfo=UTC)
        await store.append(stream, "deal", day, [ev(n=day)])

    assert [e.version for e in await store.read_stream(stream, to_version=2)] == [1, 2]
    as_of = datetime(2026, 3, 2, 13, tzinfo=UTC)
    assert [e.data["n"] for e in await store.read_stream(stream, as_of=as_of)] == [0, 1]
    assert await store.read_stream(stream, as_of=as_of - timedelta(days=5)) == []


async def test_fold_rebuilds_state_from_stored_events(store: EventStore) -> None:
    stream = sid()
    await store.append(stream, "counter", 0, [ev("Added", n=5), ev("Added", n=7)])
    await store.append(stream, "counter", 2, [ev("Removed", n=2)])

    def evolve(total: int, event) -> int:
        return total + event.data["n"] if event.type == "Added" else total - event.data["n"]

    assert fold(await store.read_stream(stream), 0, evolve) == 10


async def test_feed_reads_every_event_in_commit_order_with_opaque_cursor(
    store: EventStore,
) -> None:
    streams = [sid() for _ in range(3)]
    for s in streams:
        await store.append(s, "deal", 0, [ev(), ev()])

    first = await store.read_all(START, limit=4)
    rest = await store.read_all(first[-1].cursor, limit=100)

    assert len(first) == 4 and len(rest) == 2
    assert [e.stream_id for e in first + rest] == [s for s in streams for _ in range(2)]
    token = rest[-1].cursor.encode()
    assert Cursor.decode(token) == rest[-1].cursor
    assert await store.read_all(Cursor.decode(token)) == []
    assert await store.head() == rest[-1].cursor


async def test_feed_filters_by_type_and_stream(store: EventStore) -> None:
    a, b = sid(), sid()
    await store.append(a, "deal", 0, [ev("Opened"), ev("Won")])
    await store.append(b, "deal", 0, [ev("Opened")])

    assert [e.stream_id for e in await store.read_all(types=["Opened"])] == [a, b]
    assert [e.type for e in await store.read_all(stream_id=a)] == ["Opened", "Won"]


@pytest.mark.parametrize("bad", ["%%%", "bm90LWEtY3Vyc29y", "LTEuMg"])
def test_malformed_cursor_is_rejected(bad: str) -> None:
    with pytest.raises(InvalidCursorError):
        Cursor.decode(bad)


async def test_feed_never_skips_a_slower_transaction(store: EventStore, pool) -> None:
    """A appends and stays open; B appends later and commits first.

    The reader must not return B before A's outcome is known (it would move
    its cursor past A's position forever); after A commits, both come, in
    transaction order, none skipped.
    """
    a_stream, b_stream = sid(), sid()
    async with pool.acquire() as conn_a:
        tx_a = conn_a.transaction()
        await tx_a.start()
        await store.append(a_stream, "deal", 0, [ev(who="A")], conn=conn_a)
        await store.append(b_stream, "deal", 0, [ev(who="B")])  # commits first

        assert await store.read_all(START) == []

        await tx_a.commit()

    seen = await store.read_all(START)
    assert [e.data["who"] for e in seen] == ["A", "B"]
    assert seen[0].position < seen[1].position
    assert seen[0].tx_id < seen[1].tx_id


async def test_feed_reader_sees_every_event_exactly_once_under_concurrent_writers(
    store: EventStore,
) -> None:
    writers, per_writer = 10, 40
    done = asyncio.Event()
    seen: list[str] = []

    async def write(w: int) -> None:
        for i in range(per_writer):
            s = f"w{w}-{uuid.uuid4()}"
            await store.append(s, "deal", 0, [NewEvent("Happened", {"w": w, "i": i})])

    async def read() -> None:
        cursor = START
        while True:
            batch = await store.read_all(cursor, limit=7)
            seen.extend(str(e.event_id) for e in batch)
            if batch:
                cursor = batch[-1].cursor
            elif done.is_set():
                # one last look after the writers finished
                tail = await store.read_all(cursor, limit=10_000)
                seen.extend(str(e.event_id) for e in tail)
                return
            else:
                await asyncio.sleep(0.001)

    reader = asyncio.create_task(read())
    await asyncio.gather(*(write(w) for w in range(writers)))
    done.set()
    await reader

    assert len(seen) == writers * per_writer
    assert len(set(seen)) == len(seen)


async def test_events_cannot_be_updated_deleted_or_truncated(store: EventStore, pool) -> None:
    await store.append(sid(), "deal", 0, [ev()])
    for statement in (
        "update events set data = '{}'::jsonb",
        "delete from events",
        "truncate events",
    ):
        with pytest.raises(asyncpg.PostgresError, match="immutable") as err:
            await pool.execute(statement)
        assert err.value.sqlstate == "DT403"


async def test_verify_names_the_first_tampered_event(store: EventStore, pool) -> None:
    good, bad = sid(), sid()
    await store.append(good, "deal", 0, [ev(n=1), ev(n=2)])
    await store.append(bad, "deal", 0, [ev(n=1), ev(n=2), ev(n=3)])
    assert (await verify(pool)).ok

    async with pool.acquire() as conn, conn.transaction():
        # A superuser can switch the trigger off; the hash chain still tells.
        await conn.execute("alter table events disable trigger user")
        await conn.execute(
            "update events set data = '{\"n\": 20}'::jsonb where stream_id = $1 and version = 2",
            bad,
        )
        await conn.execute("alter table events enable trigger user")

    report = await verify(pool)
    assert not report.ok
    assert report.broken.stream_id == bad
    assert report.broken.version == 2
    assert (await verify(pool, good)).ok
    assert not (await verify(pool, bad)).ok


async def test_verify_detects_a_deleted_event(store: EventStore, pool) -> None:
    stream = sid()
    await store.append(stream, "deal", 0, [ev(n=1), ev(n=2), ev(n=3)])
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("alter table events disable trigger user")
        await conn.execute("delete from events where stream_id = $1 and version = 2", stream)
        await conn.execute("alter table events enable trigger user")

    report = await verify(pool)
    assert report.broken.stream_id == stream
    assert report.broken.version == 2
    assert "missing" in report.broken.reason


async def test_idempotent_append_stores_the_response_once(store: EventStore) -> None:
    stream = sid()
    record = IdempotencyRecord("user-1", "key-1", b"hash-1", 201, {"id": stream})
    await store.append(stream, "deal", 0, [ev()], idempotency=record)

    stored = await store.find_response("user-1", "key-1", b"hash-1")
    assert stored is not None and stored.status == 201 and stored.body == {"id": stream}
    assert await store.find_response("user-2", "key-1", b"hash-1") is None

    with pytest.raises(asyncpg.UniqueViolationError):
        await store.append(sid(), "deal", 0, [ev()], idempotency=record)
    with pytest.raises(IdempotencyKeyReusedError):
        await store.find_response("user-1", "key-1", b"other")
    assert len(await store.read_all()) == 1


async def test_single_and_batched_appends_share_one_hash_chain(store: EventStore, pool) -> None:
    stream = sid()
    await store.append(stream, "deal", 0, [ev(n=1)])
    await store.append(stream, "deal", 1, [ev(n=2), ev(n=3)])
    await store.append(stream, "deal", 3, [ev(n=4)])

    events = await store.read_stream(stream)
    previous = None
    for e in events:
        body = event_body(
            stream_id=e.stream_id,
            stream_type=e.stream_type,
            version=e.version,
            event_id=e.event_id,
            event_type=e.type,
            schema_version=e.schema_version,
            data=e.data,
            metadata=e.metadata,
            recorded_at=e.recorded_at,
        )
        assert e.hash == chain_hash(previous, body)
        previous = e.hash
    assert [e.version for e in events] == [1, 2, 3, 4]
    assert (await verify(pool)).ok


async def test_a_conflicting_append_writes_nothing_not_even_its_idempotency_record(
    store: EventStore, pool
) -> None:
    stream = sid()
    await store.append(stream, "deal", 0, [ev()])
    for expected in (0, 2):
        record = IdempotencyRecord("user-1", f"key-{expected}", b"h", 201, {})
        with pytest.raises(WrongExpectedVersionError) as err:
            await store.append(stream, "deal", expected, [ev()], idempotency=record)
        assert err.value.actual == 1
        assert await store.find_response("user-1", f"key-{expected}", b"h") is None
    with pytest.raises(WrongExpectedVersionError) as err:
        await store.append(sid(), "deal", 3, [ev()])
    assert err.value.actual == 0
    assert await pool.fetchval("select count(*) from events") == 1


async def test_an_append_joins_the_callers_transaction(store: EventStore, pool) -> None:
    stream = sid()
    async with pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        await store.append(stream, "deal", 0, [ev()], conn=conn)
        await store.append(stream, "deal", 1, [ev()], conn=conn)
        await tx.rollback()
    assert await store.stream_version(stream) == 0
    assert await store.read_stream(stream) == []


async def test_stores_that_know_different_heads_extend_one_chain(store: EventStore, pool) -> None:
    """A store chains from the head it learned, or from the stored row when its
    head is stale or unknown; every path gives the same hashes."""
    stream = sid()
    other = EventStore(pool)
    await store.append(stream, "deal", 0, [ev(n=1)])
    await other.append(stream, "deal", 1, [ev(n=2)])  # never saw the stream
    await store.append(stream, "deal", 2, [ev(n=3)])  # knows version 1 only
    await store.append(stream, "deal", 3, [ev(n=4)])  # knows version 3
    with pytest.raises(WrongExpectedVersionError) as err:
        await other.append(stream, "deal", 2, [ev(n=5)])  # knows version 2, now taken
    assert err.value.actual == 4
    assert [e.data["n"] for e in await store.read_stream(stream)] == [1, 2, 3, 4]
    assert (await verify(pool, stream)).ok


async def test_an_append_that_was_rolled_back_teaches_the_store_nothing(
    store: EventStore, pool
) -> None:
    stream = sid()
    await store.append(stream, "deal", 0, [ev(n=1)])
    async with pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        await store.append(stream, "deal", 1, [ev(n=2)], conn=conn)
        await tx.rollback()
    await EventStore(pool).append(stream, "deal", 1, [ev(n=3)])
    await store.append(stream, "deal", 2, [ev(n=4)])
    assert [e.data["n"] for e in await store.read_stream(stream)] == [1, 3, 4]
    assert (await verify(pool, stream)).ok


async def test_a_store_keeps_a_bounded_number_of_heads(pool) -> None:
    store = EventStore(pool)
    store._heads = StreamHeads(size=10)
    streams = [sid() for _ in range(25)]
    for stream in streams:
        await store.append(stream, "deal", 0, [ev()])
    assert len(store._heads) <= 10
    for stream in streams:  # forgotten heads come from the stored rows
        await store.append(stream, "deal", 1, [ev()])
    assert (await verify(pool)).ok


async def test_old_schema_versions_are_upcast_on_read(pool) -> None:
    upcasters = Upcasters()

    @upcasters.register("DealOpened", 1)
    def _split_amount(data: dict) -> dict:
        amount, currency = data["amount"].split(" ")
        return {"title": data["title"], "amount": amount, "currency": currency}

    @upcasters.register("DealOpened", 2)
    def _add_source(data: dict) -> dict:
        return {**data, "source": "unknown"}

    writer = EventStore(pool)
    stream = sid()
    await writer.append(
        stream, "deal", 0, [NewEvent("DealOpened", {"title": "ERP", "amount": "100.00 CNY"})]
    )

    reader = EventStore(pool, upcasters=upcasters)
    [event] = await reader.read_stream(stream)
    assert upcasters.current_version("DealOpened") == 3
    assert event.schema_version == 3
    assert event.data == {
        "title": "ERP",
        "amount": "100.00",
        "currency": "CNY",
        "source": "unknown",
    }
    [raw] = await reader.read_stream(stream, upcast=False)
    assert raw.schema_version == 1 and raw.data["amount"] == "100.00 CNY"
    assert (await verify(pool)).ok  # stored rows never change
