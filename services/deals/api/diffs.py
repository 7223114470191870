"""``GET /deals/{id}/diff``: the stream folded event by event, each state presented as
clients see it, then compared and attributed by :mod:`services.deals.domain.state_diff`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from services.deals.domain import Deal, DealNotFoundError, Event, evolve
from services.deals.domain.state_diff import Change, Step, changes
from services.deals.repository import DEAL
from shared.eventstore import RecordedEvent
from shared.http.problems import Problem
from shared.serde import to_data

from . import present

_WHO = ("version", "type", "actor", "role", "reason")


@dataclass(frozen=True, slots=True)
class End:
    """One end of a diff: a moment (business time, as for ``?as_of=``) or a version."""

    at: datetime | None = None
    version: int | None = None

    def includes(self, event: Event, version: int) -> bool:
        if self.version is not None:
            return version <= self.version
        return self.at is None or event.at <= self.at


def ends(
    start: datetime | None,
    end: datetime | None,
    from_version: int | None,
    to_version: int | None,
    now: datetime,
) -> tuple[End, End]:
    """The two ends from the query: ``from`` or ``from_version`` (one is needed), ``to``
    or ``to_version`` (neither: now)."""
    if (start is None) == (from_version is None):
        raise _invalid("from", "Give either from (RFC 3339) or from_version.")
    if end is not None and to_version is not None:
        raise _invalid("to", "Give either to (RFC 3339) or to_version, not both.")
    if end is None and to_version is None:
        end = now
    if start is not None and end is not None and start > end:
        raise _backwards()
    return End(start, from_version), End(end, to_version)


def deal_diff(
    deal_id: UUID, recorded: Sequence[RecordedEvent], start: End, end: End, now: datetime
) -> dict[str, Any]:
    """The diff between two ends of the deal's stream (``recorded``: all of it)."""
    events = [DEAL.codec.decode(r) for r in recorded]
    first, last = _version(deal_id, events, start), _version(deal_id, events, end)
    if last == 0:
        raise DealNotFoundError(f"deal {deal_id} not found at that moment", deal_id=str(deal_id))
    if first > last:
        raise _backwards()
    state = Deal()
    for event in events[:first]:
        state = evolve(state, event)
    before = present.deal_public(state, first, now=start.at or now) if first else None
    steps = []
    for version in range(first + 1, last + 1):
        state = evolve(state, events[version - 1])
        steps.append(Step(version, present.deal_public(state, version)))
    entries = [present.history_entry(r) for r in recorded[first:last]]
    by_version = {entry["version"]: entry for entry in entries}
    return {
        "deal_id": str(deal_id),
        "from": {"at": to_data(start.at), "version": first, "deal": before},
        "to": {
            "at": to_data(end.at),
            "version": last,
            "deal": present.deal_public(state, last, now=end.at or now),
        },
        "changes": [_change(c, by_version) for c in changes(before or {}, steps)],
        "events": entries,
    }


def _version(deal_id: UUID, events: list[Event], end: End) -> int:
    """The last version within ``end`` (0: none)."""
    version = 0
    for number, event in enumerate(events, 1):
        if not end.includes(event, number):
            break
        version = number
    if end.version is not None and version < end.version:
        raise DealNotFoundError(
            f"deal {deal_id} has no version {end.version}", deal_id=str(deal_id)
        )
    return version


def _change(change: Change, by_version: dict[int, dict[str, Any]]) -> dict[str, Any]:
    return {
        "path": change.path,
        "change": change.kind.value,
        "before": change.before,
        "after": change.after,
        "events": [{k: by_version[v][k] for k in _WHO} for v in change.versions],
    }


def _invalid(parameter: str, detail: str) -> Problem:
    return Problem(422, "invalid-parameter", "Invalid query parameter", detail, parameter=parameter)


def _backwards() -> Problem:
    return Problem(
        422,
        "invalid-range",
        "Invalid range",
        "'from' is after 'to'.",
        parameters=["from", "to"],
    )
