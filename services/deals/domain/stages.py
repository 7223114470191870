"""Stage moves and the forecast override.

Forward one stage at a time (gates checked); back any number of stages with a
reason; forward past stages only with a manager's ``override`` and a reason — the
target stage's gates still apply, the skipped stages' gates are waived. An open
deal moves only among the stages before the won stage (it enters the won stage by
``WinDeal``); a won deal moves only among the won stage and the ones after it.
"""

from datetime import datetime

from . import checks
from .access import require_supervisor
from .commands import ChangeStage, ClearForecastOverride, OverrideForecast
from .deal import Deal
from .errors import (
    DealNotOpenError,
    InvalidCommandError,
    StageGateUnmetError,
    StageSkipNeedsOverrideError,
    WrongStageError,
)
from .events import (
    DealEvent,
    ForecastConflictRaised,
    ForecastOverridden,
    ForecastOverrideCleared,
    StageChanged,
)
from .gates import unmet
from .pipelines import Pipeline, Stage
from .values import DealStatus, StageMove


def change_stage(state: Deal, cmd: ChangeStage, p: Pipeline, at: datetime) -> list[DealEvent]:
    target = p.stage(cmd.to)
    here, there = p.index(state.stage), p.index(target.code)
    if here == there:
        raise WrongStageError(f"the deal is already in stage {target.code!r}", stage=target.code)
    _check_side(state, p, target)
    if there < here:
        move = StageMove.BACK
        reason: str | None = checks.reason(cmd.reason, "moving back a stage")
    elif there == here + 1:
        move = StageMove.ADVANCE
        reason = checks.optional_text(cmd.reason, "reason", checks.TEXT_MAX)
    else:
        move = StageMove.SKIP
        if not cmd.override:
            raise StageSkipNeedsOverrideError(
                f"moving from {state.stage!r} to {target.code!r} skips stages; "
                "a manager must override, with a reason",
                from_stage=state.stage,
                to_stage=target.code,
            )
        require_supervisor(cmd, "skip stages")
        reason = checks.reason(cmd.reason, "skipping stages")
    if move is not StageMove.BACK:
        missing = unmet(state, target)
        if missing:
            raise StageGateUnmetError(target.code, missing)
    skipped = tuple(s.code for s in p.stages[here + 1 : there]) if move is StageMove.SKIP else ()
    changed = StageChanged(
        deal_id=state.id,
        from_stage=state.stage,
        to_stage=target.code,
        move=move,
        skipped=skipped,
        reason=reason,
        override=move is StageMove.SKIP,
        probability=target.probability,
        forecast_category=target.forecast_category,
        at=at,
    )
    return [changed, *_conflicts(state, target, at)]


def _check_side(state: Deal, p: Pipeline, target: Stage) -> None:
    won_side = p.is_won_side(target.code)
    if state.status is DealStatus.OPEN and won_side:
        raise WrongStageError(
            f"stage {target.code!r} is reached by winning the deal, not by a stage move",
            stage=target.code,
        )
    if state.status is DealStatus.WON and not won_side:
        raise WrongStageError(
            f"a won deal stays in {p.won_stage!r} or a later stage", stage=target.code
        )


def _conflicts(state: Deal, target: Stage, at: datetime) -> list[DealEvent]:
    """A stage change never overwrites an assertion: when it moves the suggestion of an
    asserted field (to something else than the assertion) it records a conflict."""
    f = state.forecast
    category = (
        f.asserted_category is not None
        and target.forecast_category != f.suggested_category
        and target.forecast_category != f.asserted_category
    )
    probability = (
        f.asserted_probability is not None
        and target.probability != f.suggested_probability
        and target.probability != f.asserted_probability
    )
    if not (category or probability):
        return []
    return [
        ForecastConflictRaised(
            deal_id=state.id,
            stage=target.code,
            asserted_category=f.asserted_category if category else None,
            suggested_category=target.forecast_category if category else None,
            asserted_probability=f.asserted_probability if probability else None,
            suggested_probability=target.probability if probability else None,
            at=at,
        )
    ]


def override_forecast(state: Deal, cmd: OverrideForecast, at: datetime) -> list[DealEvent]:
    if state.status is not DealStatus.OPEN:
        raise DealNotOpenError("only an open deal's forecast can be overridden")
    if cmd.category is None and cmd.probability is None:
        raise InvalidCommandError("give a forecast category, a probability or both")
    probability = None
    if cmd.probability is not None:
        probability = checks.percent(cmd.probability, "probability")
    return [
        ForecastOverridden(
            deal_id=state.id,
            category=cmd.category,
            probability=probability,
            reason=checks.reason(cmd.reason, "overriding the forecast"),
            by=cmd.actor_id,
            at=at,
        )
    ]


def clear_forecast(state: Deal, cmd: ClearForecastOverride, at: datetime) -> list[DealEvent]:
    if state.status is not DealStatus.OPEN:
        raise DealNotOpenError("only an open deal's forecast can be changed")
    if not state.forecast.overridden and state.forecast.conflict is None:
        return []  # nothing asserted: already following the stage defaults
    reason = checks.optional_text(cmd.reason, "reason", checks.TEXT_MAX)
    return [ForecastOverrideCleared(deal_id=state.id, reason=reason, at=at)]
