"""Won and lost outcomes, for win/loss analysis and sales velocity.

``deal_outcomes``: one row per win or loss, with what the analysis groups by — loss
cause, the competitor it was lost to, the competitors on the deal when it ended,
the stage where it ended (the stage a lost deal was lost in; the stage a won deal
was won from), owner, account, pipeline — and the amount (contract value for a
win, the deal amount for a loss), currency, opened and ended times.

A reopened lost deal is back in the pipeline: its loss gets ``retracted_at`` and no
longer counts from then on (as of an earlier moment it still does). Reopening a
closed deal leaves its win standing. ``outcome_deals`` keeps per open deal what the
next outcome needs (owner, amount, competitors, …).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from services.deals.domain import (
    ChangeOrderAdded,
    CompetitorAdded,
    CompetitorRemoved,
    CompetitorUpdated,
    DealLost,
    DealOpened,
    DealOwnerChanged,
    DealReopened,
    DealUpdated,
    DealWon,
)
from shared.eventstore import RecordedEvent
from shared.projections import BATCH_WINDOW, Projection

from .views_common import LOST, OPEN, WON, deal_events

TYPES = frozenset(
    c.__name__
    for c in (
        DealOpened, DealUpdated, DealOwnerChanged, CompetitorAdded, CompetitorUpdated,
        CompetitorRemoved, DealWon, DealLost, DealReopened, ChangeOrderAdded,
    )
)  # fmt: skip
DEAL_COLUMNS = (
    "deal_id", "owner_id", "account_id", "pipeline", "currency", "amount", "opened_at",
    "competitors", "outcomes",
)  # fmt: skip
OUTCOME_COLUMNS = (
    "deal_id", "seq", "outcome", "at", "retracted_at", "stage", "cause", "competitor",
    "competitors", "owner_id", "account_id", "pipeline", "amount", "currency", "opened_at",
)  # fmt: skip
_SELECT_DEALS = """
select deal_id, owner_id, account_id, pipeline, currency, amount, opened_at, competitors, outcomes
from outcome_deals where deal_id = any($1::uuid[])
"""
_UPSERT_DEAL = """
insert into outcome_deals (deal_id, owner_id, account_id, pipeline, currency, amount, opened_at,
                           competitors, outcomes)
values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
on conflict (deal_id) do update set
    owner_id = excluded.owner_id, amount = excluded.amount,
    competitors = excluded.competitors, outcomes = excluded.outcomes
"""
_INSERT_OUTCOME = """
insert into deal_outcomes (deal_id, seq, outcome, at, retracted_at, stage, cause, competitor,
    competitors, owner_id, account_id, pipeline, amount, currency, opened_at)
values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
"""
_RETRACT = """
update deal_outcomes set retracted_at = $3
where deal_id = $1 and seq = $2 and outcome = 'lost' and retracted_at is null
"""


def name_key(name: str) -> str:
    """How competitor names compare (as in the domain): case- and space-insensitive."""
    return " ".join(name.split()).casefold()


def _with(names: list[str], name: str) -> list[str]:
    clean = " ".join(name.split())
    return [n for n in names if name_key(n) != name_key(clean)] + [clean]


def _without(names: list[str], name: str) -> list[str]:
    return [n for n in names if name_key(n) != name_key(name)]


class Outcomes(Projection):
    name = "views_outcomes"
    tables = ("outcome_deals", "deal_outcomes")
    batch_window = BATCH_WINDOW

    async def apply(self, conn: asyncpg.Connection, events: list[RecordedEvent]) -> None:
        decoded = deal_events(events, TYPES)
        if not decoded:
            return
        ids = list({e.deal_id for e, _ in decoded})
        deals = {r["deal_id"]: dict(r) for r in await conn.fetch(_SELECT_DEALS, ids)}
        deals = {k: v | {"competitors": list(v["competitors"])} for k, v in deals.items()}
        touched: set[UUID] = set()
        new: dict[tuple[UUID, int], dict[str, Any]] = {}
        retract: list[tuple[UUID, int, Any]] = []
        for e, _version in decoded:
            d = deals.get(e.deal_id)
            if d is None and not isinstance(e, DealOpened):
                continue
            touched.add(e.deal_id)
            match e:
                case DealOpened():
                    deals[e.deal_id] = {
                        "deal_id": e.deal_id, "owner_id": e.owner_id, "account_id": e.account_id,
                        "pipeline": e.pipeline, "currency": e.currency, "amount": e.amount,
                        "opened_at": e.at, "competitors": [], "outcomes": 0,
                    }  # fmt: skip
                case DealUpdated(amount=amount) if amount is not None:
                    d["amount"] = amount
                case DealOwnerChanged():
                    d["owner_id"] = e.owner_id
                case ChangeOrderAdded():
                    d["amount"] = e.contract_value
                case CompetitorAdded() | CompetitorUpdated():
                    d["competitors"] = _with(d["competitors"], e.name)
                case CompetitorRemoved():
                    d["competitors"] = _without(d["competitors"], e.name)
                case DealWon():
                    d["amount"] = e.contract_value
                    row = _outcome(d, WON, e.at, e.from_stage)
                    new[(row["deal_id"], row["seq"])] = row
                case DealLost():
                    names = d["competitors"]
                    if e.competitor:
                        names = _with(names, e.competitor)
                    row = _outcome(d, LOST, e.at, e.stage, e.cause, e.competitor, names)
                    new[(row["deal_id"], row["seq"])] = row
                case DealReopened(status=status) if str(status) == OPEN and d["outcomes"]:
                    key = (e.deal_id, d["outcomes"])
                    if key in new:
                        new[key]["retracted_at"] = e.at
                    else:
                        retract.append((e.deal_id, d["outcomes"], e.at))
        rows = [deals[i] for i in touched]
        await conn.executemany(_UPSERT_DEAL, [tuple(r[c] for c in DEAL_COLUMNS) for r in rows])
        await conn.executemany(
            _INSERT_OUTCOME, [tuple(o[c] for c in OUTCOME_COLUMNS) for o in new.values()]
        )
        await conn.executemany(_RETRACT, retract)


def _outcome(
    d: dict[str, Any],
    outcome: str,
    at: Any,
    stage: str,
    cause: Any = None,
    competitor: str | None = None,
    competitors: list[str] | None = None,
) -> dict[str, Any]:
    """The deal's next outcome row (and count it on the deal)."""
    d["outcomes"] += 1
    return {
        "deal_id": d["deal_id"], "seq": d["outcomes"], "outcome": outcome, "at": at,
        "retracted_at": None, "stage": stage, "cause": None if cause is None else str(cause),
        "competitor": competitor, "competitors": list(competitors or d["competitors"]),
        "owner_id": d["owner_id"], "account_id": d["account_id"], "pipeline": d["pipeline"],
        "amount": d["amount"], "currency": d["currency"], "opened_at": d["opened_at"],
    }  # fmt: skip
