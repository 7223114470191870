"""Competitors on a deal (竞争对手): keyed by name, case- and space-insensitive."""

from datetime import datetime

from . import checks
from .commands import AddCompetitor, RemoveCompetitor
from .deal import Deal
from .errors import CompetitorNotFoundError
from .events import CompetitorAdded, CompetitorRemoved, CompetitorUpdated, DealEvent


def add_competitor(state: Deal, cmd: AddCompetitor, at: datetime) -> list[DealEvent]:
    """Adds the competitor, or updates the one with the same name (nothing if unchanged)."""
    values = {
        "name": checks.required_text(cmd.name, "name"),
        "strengths": checks.plain_text(cmd.strengths, "strengths"),
        "weaknesses": checks.plain_text(cmd.weaknesses, "weaknesses"),
        "price_position": cmd.price_position,
    }
    existing = state.competitor(values["name"])
    if existing is None:
        return [CompetitorAdded(deal_id=state.id, at=at, **values)]
    current = {
        "name": existing.name,
        "strengths": existing.strengths,
        "weaknesses": existing.weaknesses,
        "price_position": existing.price_position,
    }
    if current == values:
        return []
    return [CompetitorUpdated(deal_id=state.id, at=at, **values)]


def remove_competitor(state: Deal, cmd: RemoveCompetitor, at: datetime) -> list[DealEvent]:
    existing = state.competitor(cmd.name)
    if existing is None:
        raise CompetitorNotFoundError(
            f"deal {state.id} has no competitor {cmd.name!r}", name=cmd.name
        )
    return [CompetitorRemoved(deal_id=state.id, name=existing.name, at=at)]
