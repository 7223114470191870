"""What a command reads before deciding: one round trip for the stored response or the stream."""

from __future__ import annotations

import uuid

import pytest

from shared.aggregates import Loaded, Repository
from shared.eventstore import (
    EventStore,
    IdempotencyKeyReusedError,
    IdempotencyRecord,
    NewEvent,
    StoredResponse,
)
from tests.support.counter import COUNTER, Added, Counter, Opened

ANSWER = {"body": {"total": 3}, "headers": {"ETag": '"2"'}}


async def test_a_stored_response_comes_back_instead_of_the_stream(store: EventStore) -> None:
    sid = f"c-{uuid.uuid4()}"
    await store.append(sid, "counter", 0, [NewEvent("Opened", {"by": "u"})])
    record = IdempotencyRecord("u-1", "k-1", b"request", 200, ANSWER)
    await store.append(sid, "counter", 1, [NewEvent("Added", {"n": 3})], idempotency=record)

    stored, events = await store.read_for_command(
        sid, scope="u-1", key="k-1", request_hash=b"request"
    )
    assert (stored, events) == (StoredResponse(200, ANSWER), [])
    with pytest.raises(IdempotencyKeyReusedError):
        await store.read_for_command(sid, scope="u-1", key="k-1", request_hash=b"other")


async def test_without_a_stored_response_the_events_after_a_version_come_back(
    store: EventStore,
) -> None:
    sid = f"c-{uuid.uuid4()}"
    await store.append(sid, "counter", 0, [NewEvent("Opened", {"by": "u"})])
    await store.append(sid, "counter", 1, [NewEvent("Added", {"n": n}) for n in (1, 2, 3)])

    stored, events = await store.read_for_command(
        sid, scope="u-1", key="k-new", request_hash=b"request"
    )
    assert stored is None and [e.version for e in events] == [1, 2, 3, 4]
    assert events == await store.read_stream(sid)
    _, tail = await store.read_for_command(sid, after_version=2)
    assert [(e.version, e.data) for e in tail] == [(3, {"n": 2}), (4, {"n": 3})]
    assert await store.read_for_command(sid, after_version=4) == (None, [])
    assert await store.read_for_command(f"c-{uuid.uuid4()}", key="k") == (None, [])


async def test_a_repository_folds_only_what_follows_the_state_it_holds(store: EventStore) -> None:
    sid = f"c-{uuid.uuid4()}"
    repo = Repository(store, COUNTER)
    await repo.append(sid, 0, [Opened("u"), Added(1)], {})
    held = await repo.load(sid)
    await repo.append(sid, 2, [Added(2), Added(4)], {})

    _, newer = await store.read_for_command(sid, after_version=held.version)
    assert repo.fold(sid, newer, held) == Loaded(Counter(sid, 7, opened=True), 4)
    loaded = await repo.load_for_command(sid, scope="u-1", key=None, request_hash=b"")
    assert loaded == await repo.load(sid) == Loaded(Counter(sid, 7, opened=True), 4)
    # Nothing is presumed of an existing stream (a cache would); a new one is empty.
    assert await repo.presume(sid) is None
    assert await repo.presume("c-new", new=True) == Loaded(Counter("c-new"), 0)
