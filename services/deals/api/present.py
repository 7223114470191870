"""Domain state, stored events and list rows → response bodies (JSON-ready dicts).

The shapes are those of :mod:`.schemas.responses`; building plain dicts keeps the
command path free of a second validation pass (a test validates them against the
models).
"""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg

from services.deals.domain import (
    Deal,
    InitiationReport,
    Pipeline,
    Quote,
    QuoteDiff,
    cumulative_days_by_stage,
    days_in_stage,
    is_stalled,
)
from services.deals.domain.checks import money
from shared.eventstore import RecordedEvent
from shared.serde import to_data

_HUNDRED = Decimal(100)
# Every field but the quotes, which quote_public renders with their computed figures.
_DEAL_FIELDS = tuple(f.name for f in fields(Deal) if f.name != "quotes")


def deal_public(
    state: Deal,
    version: int,
    *,
    now: datetime | None = None,
    pipeline: Pipeline | None = None,
    last_touch_at: datetime | None = None,
) -> dict[str, Any]:
    """A deal's full state. ``pipeline`` given (on reads): ``stalled`` is computed with
    the latest touch; in command replies it is null."""
    now = now or state.last_activity_at
    assert now is not None and state.id is not None
    data = {name: to_data(getattr(state, name)) for name in _DEAL_FIELDS}
    forecast = data["forecast"]
    forecast["category"] = state.forecast.category.value
    forecast["probability"] = str(state.probability)
    forecast["overridden"] = state.forecast.overridden
    report = state.initiation_report or InitiationReport()
    stalled = None
    if pipeline is not None:
        stalled = _stalled(state, pipeline, now, last_touch_at)
    data.update(
        version=version,
        probability=str(state.probability),
        forecast_category=state.forecast_category.value,
        weighted_amount=str(state.weighted_amount),
        days_in_stage=days_in_stage(state, now),
        days_by_stage=cumulative_days_by_stage(state, now),
        initiation_report_missing=list(report.missing()),
        quotes=[quote_public(state.id, q) for q in state.quotes],
        last_touch_at=to_data(last_touch_at),
        stalled=stalled,
    )
    return data


def _stalled(state: Deal, pipeline: Pipeline, now: datetime, touch: datetime | None) -> bool:
    if state.stage not in {s.code for s in pipeline.stages}:
        return False  # a stage the definition no longer has: it sets no limit
    return is_stalled(state, pipeline, now, touch)


def quote_public(deal_id: Any, quote: Quote) -> dict[str, Any]:
    """A quote with every version; each line with its computed net, cost and margin."""
    versions = []
    for version in quote.versions:
        body = to_data(version)
        body["lines"] = [
            {
                **to_data(line),
                "net": str(line.net),
                "cost": str(line.cost),
                "margin": str(line.margin),
                "margin_pct": to_data(line.margin_pct),
            }
            for line in version.lines
        ]
        versions.append(body)
    latest = quote.latest
    return {
        "deal_id": str(deal_id),
        "quote_id": str(quote.quote_id),
        "currency": quote.currency,
        "status": quote.status.value,
        "latest_version": latest.version,
        "total": str(latest.totals.total),
        "gross_margin_pct": to_data(latest.totals.gross_margin_pct),
        "versions": versions,
    }


def diff_public(diff: QuoteDiff) -> dict[str, Any]:
    return to_data(diff)


def history_entry(event: RecordedEvent) -> dict[str, Any]:
    """One event with who did it, in which role, why, and under which request."""
    meta = event.metadata
    reason = meta.get("reason") or event.data.get("reason")
    return {
        "version": event.version,
        "event_id": str(event.event_id),
        "type": event.type,
        "data": event.data,
        "actor": meta.get("actor"),
        "role": meta.get("role"),
        "reason": reason if isinstance(reason, str) else None,
        "request_id": meta.get("request_id"),
        "correlation_id": meta.get("correlation_id"),
        "idempotency_key": meta.get("idempotency_key"),
        "recorded_at": to_data(event.recorded_at),
        "position": event.position,
        "hash": event.hash.hex(),
    }


def deal_summary(row: asyncpg.Record, now: datetime) -> dict[str, Any]:
    """A row of the deal list."""
    amount, probability = row["amount"], row["probability"]
    end = row["ended_at"] or now
    return {
        "id": str(row["deal_id"]),
        "account_id": str(row["account_id"]),
        "title": row["title"],
        "owner_id": row["owner_id"],
        "pipeline": row["pipeline"],
        "stage": row["stage"],
        "status": row["status"],
        "amount": str(amount),
        "currency": row["currency"],
        "probability": str(probability),
        "forecast_category": row["forecast_category"],
        "weighted_amount": str(money(amount * probability / _HUNDRED)),
        "expected_close_date": to_data(row["expected_close_date"]),
        "days_in_stage": max((end - row["stage_entered_at"]).days, 0),
        "stalled": row["stalled"],
        "last_touch_at": to_data(row["last_touch_at"]),
        "opened_at": to_data(row["opened_at"]),
        "updated_at": to_data(row["updated_at"]),
        "version": row["version"],
    }


def pipeline_public(pipeline: Pipeline, version: int | None) -> dict[str, Any]:
    return {**to_data(pipeline), "preset": version is None, "version": version}
