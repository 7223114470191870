"""Win, loss, reopen, change orders and closing.

- Win: only from the stage before the won stage (negotiation), with the won stage's
  gates met (key-account: an accepted quote); the contract value is the accepted
  quote's total (the deal amount when the pipeline needs no quote). The deal moves
  to the won stage and its amount becomes the contract value.
- Loss: from any stage of an open deal, with a cause and a stage summary; a
  competitor is required when lost to one.
- Reopen (manager, reason): a lost deal goes back to open in the stage it was lost
  in; a closed deal goes back to won in the stage it was closed in.
- Change orders and closing: won deals only.
"""

from datetime import datetime

from . import checks
from .commands import AddChangeOrder, CloseDeal, LoseDeal, ReopenDeal, WinDeal
from .deal import Deal
from .errors import (
    DealNotOpenError,
    DealNotReopenableError,
    DealNotWonError,
    DuplicateIdError,
    InvalidCommandError,
    StageGateUnmetError,
    WrongStageError,
)
from .events import ChangeOrderAdded, DealClosed, DealEvent, DealLost, DealReopened, DealWon
from .gates import unmet
from .pipelines import Pipeline
from .values import DealStatus, LossCause


def win(state: Deal, cmd: WinDeal, p: Pipeline, at: datetime) -> list[DealEvent]:
    if state.status is not DealStatus.OPEN:
        raise DealNotOpenError(f"deal {state.id} is {state.status}, not open")
    if state.stage != p.win_from.code:
        raise WrongStageError(
            f"a deal is won from stage {p.win_from.code!r}; this one is in {state.stage!r}",
            stage=state.stage,
        )
    won = p.stage(p.won_stage)
    missing = unmet(state, won)
    if missing:
        raise StageGateUnmetError(won.code, missing)
    accepted = state.accepted_quotes
    quote = accepted[0] if accepted else None
    return [
        DealWon(
            deal_id=state.id,
            contract_number=checks.required_text(cmd.contract_number, "contract_number"),
            signed_date=cmd.signed_date,
            contract_value=quote.latest.totals.total if quote else state.amount,
            quote_id=quote.quote_id if quote else None,
            from_stage=state.stage,
            stage=won.code,
            probability=won.probability,
            forecast_category=won.forecast_category,
            at=at,
        )
    ]


def lose(state: Deal, cmd: LoseDeal, at: datetime) -> list[DealEvent]:
    if state.status is not DealStatus.OPEN:
        raise DealNotOpenError(f"only an open deal can be lost; deal {state.id} is {state.status}")
    competitor = checks.optional_text(cmd.competitor, "competitor")
    if cmd.cause is LossCause.LOST_TO_COMPETITOR and competitor is None:
        raise InvalidCommandError("name the competitor the deal was lost to", field="competitor")
    return [
        DealLost(
            deal_id=state.id,
            stage=state.stage,
            cause=LossCause(cmd.cause),
            competitor=competitor,
            summary=checks.required_text(cmd.summary, "summary", checks.TEXT_MAX),
            at=at,
        )
    ]


def reopen(state: Deal, cmd: ReopenDeal, p: Pipeline, at: datetime) -> list[DealEvent]:
    if not state.ended:
        raise DealNotReopenableError(
            f"only lost or closed deals are reopened; deal {state.id} is {state.status}"
        )
    reason = checks.reason(cmd.reason, "reopening a deal")
    stage = p.stage(state.stage)
    status = DealStatus.OPEN if state.status is DealStatus.LOST else DealStatus.WON
    return [
        DealReopened(
            deal_id=state.id,
            stage=stage.code,
            status=status,
            reason=reason,
            probability=stage.probability,
            forecast_category=stage.forecast_category,
            at=at,
        )
    ]


def _require_won(state: Deal, action: str) -> None:
    if state.status is not DealStatus.WON:
        raise DealNotWonError(f"{action} needs a won deal; deal {state.id} is {state.status}")


def change_order(state: Deal, cmd: AddChangeOrder, at: datetime) -> list[DealEvent]:
    _require_won(state, "a change order")
    if any(c.change_order_id == cmd.change_order_id for c in state.change_orders):
        raise DuplicateIdError(
            f"change order {cmd.change_order_id} already exists",
            change_order_id=str(cmd.change_order_id),
        )
    delta = checks.decimal(cmd.amount_delta, "amount_delta")
    if delta == 0:
        raise InvalidCommandError("a change order changes the contract value", field="amount_delta")
    value = (state.contract_value or state.amount) + delta
    if value < 0:
        raise InvalidCommandError(
            "the change order would make the contract value negative", field="amount_delta"
        )
    return [
        ChangeOrderAdded(
            deal_id=state.id,
            change_order_id=cmd.change_order_id,
            description=checks.required_text(cmd.description, "description", checks.TEXT_MAX),
            amount_delta=delta,
            contract_value=value,
            at=at,
        )
    ]


def close(state: Deal, cmd: CloseDeal, at: datetime) -> list[DealEvent]:
    _require_won(state, "closing")
    return [
        DealClosed(
            deal_id=state.id,
            stage=state.stage,
            acceptance_date=cmd.acceptance_date,
            summary=checks.required_text(cmd.summary, "summary", checks.TEXT_MAX),
            at=at,
        )
    ]
