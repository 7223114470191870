"""Loading the deals benchmark's 100,000 deals straight into the deals event store."""

from __future__ import annotations

import random
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from services.deals.domain import (
    PRESETS,
    DealLost,
    DealOpened,
    DealWon,
    LossCause,
    StageChanged,
    StageMove,
)
from services.deals.handlers import DEAL
from shared.db import create_pool
from shared.eventstore.canonical import event_body


def deal_events(deal_id: uuid.UUID, account_id: uuid.UUID, now: datetime, rnd: random.Random):
    """A plausible history: opened in the last 180 days, moved on, sometimes won or lost."""
    p = PRESETS["key-account"]
    opened = now - timedelta(days=rnd.uniform(5, 180))
    first = p.stages[0]
    events: list[Any] = [
        DealOpened(
            deal_id=deal_id, account_id=account_id, title="Bulk deal",
            owner_id=f"rep-{rnd.randrange(50)}",
            pipeline=p.code, stage=first.code, amount=Decimal(rnd.randrange(10_000, 5_000_000)),
            currency=rnd.choice(("CNY", "CNY", "CNY", "USD")), probability=first.probability,
            forecast_category=first.forecast_category,
            expected_close_date=date.today() + timedelta(days=rnd.randrange(-30, 330)),
            source=None, at=opened,
        )
    ]  # fmt: skip
    index = rnd.randrange(0, 5)
    at = opened + timedelta(days=rnd.uniform(0, (now - opened).days))
    if index:
        stage = p.stages[index]
        events.append(
            StageChanged(
                deal_id=deal_id, from_stage=first.code, to_stage=stage.code,
                move=StageMove.SKIP if index > 1 else StageMove.ADVANCE,
                skipped=tuple(s.code for s in p.stages[1:index]), reason="import",
                override=index > 1, probability=stage.probability,
                forecast_category=stage.forecast_category, at=at,
            )
        )  # fmt: skip
    roll = rnd.random()
    if index == 4 and roll < 0.3:
        won = p.stages[5]
        events.append(
            DealWon(
                deal_id=deal_id, contract_number="C", signed_date=at.date(),
                contract_value=events[0].amount, quote_id=None, from_stage="negotiation",
                stage=won.code, probability=won.probability,
                forecast_category=won.forecast_category, at=at + timedelta(days=1),
            )
        )  # fmt: skip
    elif roll < 0.1:
        events.append(
            DealLost(deal_id=deal_id, stage=p.stages[index].code, cause=LossCause.OTHER,
                     competitor=None, summary="imported", at=at + timedelta(hours=1))
        )  # fmt: skip
    return events


# The event store's append function (shared/eventstore/schema.py), one call a deal.
APPEND = """
select append_events($1, $2, 0, $3::uuid[], $4::text[], $5::integer[], $6::jsonb[],
                     $7::jsonb[], $8::text[], $9, null, null, null, null, null)
"""


def _append_args(deal_id: uuid.UUID, events: list[Any], recorded_at: datetime) -> tuple:
    new = [DEAL.codec.encode(e) for e in events]
    meta = {"actor": "import", "role": "service"}
    bodies = [
        event_body(
            stream_id=str(deal_id), stream_type="deal", version=i, event_id=e.event_id,
            event_type=e.type, schema_version=1, data=e.data, metadata=meta,
            recorded_at=recorded_at,
        )
        for i, e in enumerate(new, start=1)
    ]  # fmt: skip
    return (
        str(deal_id), "deal", [e.event_id for e in new], [e.type for e in new], [1] * len(new),
        [e.data for e in new], [meta] * len(new), bodies, recorded_at,
    )  # fmt: skip


async def load_deals(db_url: str, accounts: list[uuid.UUID], count: int) -> float:
    """Append ``count`` deals straight into the store: 2,000 appends per transaction,
    pipelined with executemany (hash chains and all, as the store writes them)."""
    pool = await create_pool(db_url, "deals", min_size=2, max_size=2)
    rnd, now, started = random.Random(7), datetime.now(UTC), time.perf_counter()
    try:
        async with pool.acquire() as conn:
            for start in range(0, count, 2000):
                args = []
                for _ in range(min(2000, count - start)):
                    deal_id = uuid.uuid4()
                    events = deal_events(deal_id, rnd.choice(accounts), now, rnd)
                    args.append(_append_args(deal_id, events, now))
                async with conn.transaction():
                    await conn.executemany(APPEND, args)
    finally:
        await pool.close()
    return time.perf_counter() - started
