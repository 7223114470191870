"""What the deal views share: decoding deal events, the pipeline catalog, formatting.

The views are read models fed by the projection runner. Each is a pure function of
the deal events (business time = each event's ``at``), so a rebuild from event zero
gives the same rows; the accounts data they join (``account_directory``,
``deal_last_touch``) is read only when a view is queried, never while applying.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from services.deals.domain import EVENT_TYPES, PRESETS, STREAM_TYPE, Pipeline
from services.deals.domain.checks import CENT
from shared.aggregates import EventCodec
from shared.eventstore import RecordedEvent

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
INFINITY = datetime.max.replace(tzinfo=UTC)  # asyncpg sends it as 'infinity'
DAY_SECONDS = Decimal(86400)
ZERO = Decimal(0)
OPEN, WON, LOST, CLOSED = "open", "won", "lost", "closed"
FORWARD_MOVES = ("advance", "skip", "won")

_codec = EventCodec(EVENT_TYPES)


def deal_events(events: Iterable[RecordedEvent], types: frozenset[str]) -> list[tuple[Any, int]]:
    """The deal events of the given types, decoded, each with its stream version."""
    return [
        (_codec.decode(e), e.version)
        for e in events
        if e.stream_type == STREAM_TYPE and e.type in types
    ]


def seconds(delta: timedelta) -> Decimal:
    """A duration in exact seconds (microseconds kept; a float would round them)."""
    return Decimal(delta.days * 86400 + delta.seconds) + Decimal(delta.microseconds) / 1_000_000


def columns(rows: Iterable[Mapping[str, Any]], names: tuple[str, ...]) -> list[list[Any]]:
    """Rows as one list per column, for a single ``insert … select from unnest(…)``."""
    materialised = list(rows)
    return [[row[name] for row in materialised] for name in names]


def epoch_seconds(moment: datetime) -> Decimal:
    return seconds(moment - EPOCH)


def money(value: Decimal | None) -> str | None:
    """A decimal string with cents, never a float."""
    return None if value is None else str(Decimal(value).quantize(CENT))


def days(seconds: Decimal | float | None, places: int = 1) -> float | None:
    """Seconds as days, rounded for display."""
    return None if seconds is None else round(float(seconds) / 86400, places)


def ratio(part: Decimal | int, whole: Decimal | int) -> float | None:
    """``part / whole`` to four places; None when there is nothing to divide by."""
    return None if not whole else round(float(Decimal(part) / Decimal(whole)), 4)


def rfc3339(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Catalog:
    """The pipelines the views know: stage order and names, stall limits, won stage.

    Events carry stage codes, probabilities and forecast categories, but not the
    order of stages or their stall limits; those come from the definitions (the
    presets, plus custom pipelines when the service passes them in).
    """

    pipelines: Mapping[str, Pipeline]

    @classmethod
    def of(cls, extra: Iterable[Pipeline] = ()) -> Catalog:
        return cls({**PRESETS, **{p.code: p for p in extra}})

    def get(self, code: str) -> Pipeline | None:
        return self.pipelines.get(code)

    def stage_codes(self, code: str) -> list[str]:
        p = self.pipelines.get(code)
        return [] if p is None else [s.code for s in p.stages]

    def open_stage_codes(self, code: str) -> list[str]:
        """The stages an open deal can be in (before the won stage)."""
        p = self.pipelines.get(code)
        return [] if p is None else [s.code for s in p.stages[: p.won_index]]

    def stage_names(self, pipeline: str, stage: str) -> dict[str, str | None]:
        p = self.pipelines.get(pipeline)
        found = next((s for s in p.stages if s.code == stage), None) if p else None
        return {"name": found.name if found else None, "name_zh": found.name_zh if found else None}

    def stall_limits(self) -> tuple[list[str], list[str], list[int]]:
        """(pipeline, stage, days) columns for the stages that can stall."""
        rows = [
            (p.code, s.code, s.stall_limit_days)
            for p in self.pipelines.values()
            for s in p.stages
            if s.stall_limit_days is not None
        ]
        return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]
