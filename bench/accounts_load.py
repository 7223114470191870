"""The accounts benchmark's bulk data: 10,000 accounts, 20,000 contacts and 100,000
touches appended straight into the event store in batched transactions, and the wait
until the service's read models have caught up with them."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import log
from services.accounts.domain.enums import BuyingRole, Channel, Scope
from services.accounts.domain.events import (
    AccountOpened,
    BuyingRoleAssigned,
    ContactAdded,
    TouchLogged,
)
from services.accounts.handlers import ACCOUNT, CONTACT, TOUCH
from services.accounts.projections import all_projections
from shared.db import create_pool
from shared.eventstore import EventStore

ACCOUNTS, TOUCHES, OWNERS = 10_000, 100_000, 50
LOAD_CHUNK, LOAD_TASKS = 500, 4  # appends per transaction, concurrent loaders
ROLE_SHARES = ((BuyingRole.ECONOMIC_BUYER, 0.6), (BuyingRole.COACH, 0.3))
_LAST_EVENT = "select tx_id, position from events order by tx_id desc, position desc limit 1"
_CAUGHT_UP = """
select count(*) from checkpoints where (tx_id, position) >= ($1::xid8, $2) and name = any($3)
"""


def _bulk_streams() -> list[tuple[Any, str, list]]:
    """(aggregate, stream id, events) for 10,000 accounts, 2 contacts each, 100,000 touches:
    an economic buyer on 60% of the accounts, a coach on 30%, touches over 120 days."""
    now, rng, zero = datetime.now(UTC), random.Random(7), uuid.UUID(int=0)
    opened = AccountOpened(
        account_id=zero,
        name="",
        industry="能源",
        region="华东",
        scope=Scope.REGIONAL,
        owner_id="",
        at=now - timedelta(days=200),
    )
    added = ContactAdded(
        contact_id=zero,
        account_id=zero,
        name="",
        title="",
        department="",
        personal=None,
        at=now - timedelta(days=190),
    )
    role = BuyingRoleAssigned(
        contact_id=zero,
        account_id=zero,
        role=BuyingRole.COACH,
        deal_id=None,
        influence=4,
        support=1,
        at=now - timedelta(days=190),
    )
    logged = TouchLogged(
        touch_id=zero,
        account_id=zero,
        contact_ids=(),
        channel=Channel.VISIT,
        occurred_at=now,
        summary="拜访",
        deal_id=None,
        next_step=None,
        next_step_due=None,
        logged_by="",
        at=now,
    )
    streams, people = [], []
    for i in range(ACCOUNTS):
        aid, owner = uuid.uuid4(), f"rep-{i % OWNERS}"
        account = replace(opened, account_id=aid, name=f"客户 {i:05d}", owner_id=owner)
        streams.append((ACCOUNT, str(aid), [account]))
        contacts = []
        for k, (buying, share) in enumerate(ROLE_SHARES):
            cid = uuid.uuid4()
            events = [replace(added, contact_id=cid, account_id=aid, name=f"联系人 {i}-{k}")]
            if rng.random() < share:
                events.append(replace(role, contact_id=cid, account_id=aid, role=buying))
            streams.append((CONTACT, str(cid), events))
            contacts.append(cid)
        people.append((aid, owner, contacts))
    for _ in range(TOUCHES):
        aid, owner, contacts = people[rng.randrange(ACCOUNTS)]
        tid, when = uuid.uuid4(), now - timedelta(days=rng.uniform(0, 120))
        touch = replace(
            logged,
            touch_id=tid,
            account_id=aid,
            contact_ids=tuple(contacts[: rng.randint(1, 2)]),
            channel=rng.choice(list(Channel)),
            occurred_at=when,
            logged_by=owner,
            at=when,
        )
        streams.append((TOUCH, str(tid), [touch]))
    return streams


async def load_and_catch_up(db: str) -> dict[str, Any]:
    """Append the bulk data in batched transactions; wait for the read models to catch up."""
    streams = _bulk_streams()
    events = sum(len(e) for _, _, e in streams)
    pool = await create_pool(db, "accounts", min_size=LOAD_TASKS, max_size=LOAD_TASKS + 2)
    store = EventStore(pool)
    chunks = iter(range(0, len(streams), LOAD_CHUNK))
    meta = {"actor": "bench-load", "role": "service", "request_id": "bench-load"}

    async def loader() -> None:
        for start in chunks:
            async with pool.acquire() as conn, conn.transaction():
                for aggregate, sid, decided in streams[start : start + LOAD_CHUNK]:
                    new = [aggregate.codec.encode(e) for e in decided]
                    await store.append(sid, aggregate.stream_type, 0, new, meta, conn=conn)

    log(f"loading {events:,} events on {len(streams):,} streams straight into the store")
    t0 = time.perf_counter()
    try:
        await asyncio.gather(*(loader() for _ in range(LOAD_TASKS)))
        loaded = time.perf_counter() - t0
        log(f"loaded in {loaded:.1f}s; waiting for the service's projections")
        names = [p.name for p in all_projections()]
        last = await pool.fetchrow(_LAST_EVENT)
        while await pool.fetchval(_CAUGHT_UP, last["tx_id"], last["position"], names) < len(names):
            await asyncio.sleep(0.2)
        caught_up = time.perf_counter() - t0
        log(f"projections caught up {caught_up:.1f}s after the load began")
        await pool.execute("analyze")  # planner statistics, as on a settled database
    finally:
        await pool.close()
    return {
        "accounts": ACCOUNTS,
        "contacts": 2 * ACCOUNTS,
        "touches": TOUCHES,
        "events": events,
        "load_s": round(loaded, 1),
        "load_events_per_s": round(events / loaded),
        "projections_caught_up_s": round(caught_up, 1),
        "projections": names,
    }
