"""Response body of ``GET /deals/{id}/diff``: both ends, the changes, the events between."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from .responses import DealPublic, HistoryEntry, Out


class DiffEndPublic(Out):
    at: str | None  # the moment asked for; null when the end was given as a version
    version: int  # 0: the deal did not exist yet
    deal: DealPublic | None


class ChangedBy(Out):
    """An event that changed the value: who, in which role, and why."""

    version: int
    type: str
    actor: str | None
    role: str | None
    reason: str | None


class DealChangePublic(Out):
    path: str
    change: str  # added, removed or changed
    before: Any
    after: Any
    events: list[ChangedBy]


class DealDiffPublic(Out):
    deal_id: str
    from_: DiffEndPublic = Field(alias="from")
    to: DiffEndPublic
    changes: list[DealChangePublic]
    events: list[HistoryEntry]
