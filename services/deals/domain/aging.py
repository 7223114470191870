"""Time in stage and stalled deals: pure functions of a deal and ``now``.

Whole days are floored (a deal three and a half days in a stage has been there 3
days); the ``time_*`` variants give exact durations for averages.
"""

from datetime import datetime, timedelta

from .deal import Deal
from .pipelines import Pipeline
from .values import DealStatus


def time_in_stage(deal: Deal, now: datetime) -> timedelta:
    """The latest visit to the current stage (for a lost or closed deal: its last visit)."""
    if not deal.stage_history:
        return timedelta(0)
    return deal.stage_history[-1].duration(now)


def days_in_stage(deal: Deal, now: datetime) -> int:
    return time_in_stage(deal, now).days


def cumulative_time_by_stage(deal: Deal, now: datetime) -> dict[str, timedelta]:
    """Total time per stage over every visit, in order of first visit."""
    totals: dict[str, timedelta] = {}
    for visit in deal.stage_history:
        totals[visit.stage] = totals.get(visit.stage, timedelta(0)) + visit.duration(now)
    return totals


def cumulative_days_by_stage(deal: Deal, now: datetime) -> dict[str, int]:
    return {stage: spent.days for stage, spent in cumulative_time_by_stage(deal, now).items()}


def is_stalled(
    deal: Deal, pipeline: Pipeline, now: datetime, last_touch_at: datetime | None = None
) -> bool:
    """An open deal with no stage change and no touch (from the accounts feed) for longer
    than its stage's stall limit. Won, lost and closed deals never stall."""
    if deal.status is not DealStatus.OPEN or not deal.stage_history:
        return False
    limit = pipeline.stage(deal.stage).stall_limit_days
    if limit is None:
        return False
    last = deal.stage_history[-1].entered_at
    if last_touch_at is not None and last_touch_at > last:
        last = last_touch_at
    return now - last > timedelta(days=limit)
