"""Deciding: a command and the current state give the events to append (or an error).

``decide(state, command, pipeline=None)``: ``pipeline`` is the deal's pipeline
definition; when omitted it is looked up among the presets by the deal's (or
``OpenDeal``'s) pipeline code — the handler passes custom pipelines in. Command
times are clamped so that no event is earlier than the one before it (clocks of
two replicas may disagree by a little; stage durations must never go negative).
"""

from dataclasses import fields
from datetime import date, datetime
from decimal import Decimal

from . import checks
from .access import require_owner_or_supervisor, require_supervisor, require_writer
from .commands import (
    AcceptQuote,
    AddChangeOrder,
    AddCompetitor,
    ApproveQuote,
    ChangeStage,
    ClearForecastOverride,
    CloseDeal,
    DealCommand,
    IssueQuote,
    LoseDeal,
    OpenDeal,
    OverrideForecast,
    RejectQuote,
    RemoveCompetitor,
    ReopenDeal,
    ReviseQuote,
    SendQuote,
    SubmitInitiationReport,
    UpdateDeal,
    WinDeal,
)
from .competitors import add_competitor, remove_competitor
from .deal import Deal
from .errors import (
    DealAlreadyExistsError,
    DealClosedError,
    DealNotFoundError,
    DealNotOpenError,
    InvalidCommandError,
    NotAllowedError,
)
from .events import (
    DealEvent,
    DealOpened,
    DealOwnerChanged,
    DealUpdated,
    InitiationReportSubmitted,
    NextStepSet,
)
from .lifecycle import change_order, close, lose, reopen, win
from .pipelines import Pipeline, get_pipeline
from .quoting import accept, approve, issue, reject, revise, send
from .stages import change_stage, clear_forecast, override_forecast
from .values import DealStatus, InitiationReport, Role

_SUPERVISOR_ONLY = {
    ApproveQuote: "approve quotes",
    RejectQuote: "reject quotes",
    ReopenDeal: "reopen deals",
}


def decide(state: Deal, command: DealCommand, pipeline: Pipeline | None = None) -> list[DealEvent]:
    """The events ``command`` produces on ``state`` (possibly none: a no-op update), or a
    ``DealError``. Checks run in this order: role may write (403), deal exists (404),
    owner or supervisor (403), supervisor-only command (403), deal not lost/closed
    (409), then the command's own rules."""
    require_writer(command)
    at = checks.utc(command.at, "at")
    if isinstance(command, OpenDeal):
        return [_open(state, command, pipeline or get_pipeline(command.pipeline), at)]
    _require_exists(state, command)
    require_owner_or_supervisor(command, state.owner_id, "change this deal")
    if type(command) in _SUPERVISOR_ONLY:
        require_supervisor(command, _SUPERVISOR_ONLY[type(command)])
    if state.ended and not isinstance(command, ReopenDeal):
        raise DealClosedError(
            f"deal {state.id} is {state.status}; only a manager's reopen changes it",
            status=str(state.status),
        )
    p = pipeline or get_pipeline(state.pipeline)
    if p.code != state.pipeline:
        raise ValueError(f"deal {state.id} is on pipeline {state.pipeline!r}, not {p.code!r}")
    if state.last_activity_at is not None and at < state.last_activity_at:
        at = state.last_activity_at
    match command:
        case UpdateDeal():
            return _update(state, command, at)
        case SubmitInitiationReport():
            return _report(state, command, at)
        case ChangeStage():
            return change_stage(state, command, p, at)
        case OverrideForecast():
            return override_forecast(state, command, at)
        case ClearForecastOverride():
            return clear_forecast(state, command, at)
        case AddCompetitor():
            return add_competitor(state, command, at)
        case RemoveCompetitor():
            return remove_competitor(state, command, at)
        case IssueQuote():
            return issue(state, command, p, at)
        case ReviseQuote():
            return revise(state, command, p, at)
        case ApproveQuote():
            return approve(state, command, at)
        case RejectQuote():
            return reject(state, command, at)
        case SendQuote():
            return send(state, command, at)
        case AcceptQuote():
            return accept(state, command, at)
        case WinDeal():
            return win(state, command, p, at)
        case LoseDeal():
            return lose(state, command, at)
        case ReopenDeal():
            return reopen(state, command, p, at)
        case AddChangeOrder():
            return change_order(state, command, at)
        case CloseDeal():
            return close(state, command, at)
    raise TypeError(f"not a deal command: {command!r}")


def _require_exists(state: Deal, command: DealCommand) -> None:
    if not state.exists:
        raise DealNotFoundError(f"deal {command.deal_id} not found", deal_id=str(command.deal_id))
    if state.id != command.deal_id:
        raise ValueError(f"command for {command.deal_id} decided on deal {state.id}")


def _open(state: Deal, cmd: OpenDeal, p: Pipeline, at: datetime) -> DealOpened:
    if state.exists:
        raise DealAlreadyExistsError(f"deal {cmd.deal_id} already exists")
    if p.code != cmd.pipeline:
        raise ValueError(f"OpenDeal names pipeline {cmd.pipeline!r}, given {p.code!r}")
    owner = checks.required_text(cmd.owner_id, "owner_id")
    if cmd.actor_role is Role.REP and owner != cmd.actor_id:
        raise NotAllowedError("a rep may only open deals they own", actor_id=cmd.actor_id)
    first = p.first
    return DealOpened(
        deal_id=cmd.deal_id,
        account_id=cmd.account_id,
        title=checks.required_text(cmd.title, "title"),
        owner_id=owner,
        pipeline=p.code,
        stage=first.code,
        amount=checks.amount(cmd.amount, "amount"),
        currency=checks.currency(cmd.currency),
        probability=first.probability,
        forecast_category=first.forecast_category,
        expected_close_date=cmd.expected_close_date,
        source=checks.optional_text(cmd.source, "source"),
        at=at,
    )


def _update(state: Deal, cmd: UpdateDeal, at: datetime) -> list[DealEvent]:
    given = (cmd.title, cmd.amount, cmd.expected_close_date, cmd.next_step, cmd.next_step_due)
    if all(value is None for value in (*given, cmd.owner_id)):
        raise InvalidCommandError("nothing to update")
    title = None if cmd.title is None else checks.required_text(cmd.title, "title")
    amount = None if cmd.amount is None else checks.amount(cmd.amount, "amount")
    events: list[DealEvent] = []
    changed = DealUpdated(
        deal_id=state.id,
        title=checks.changed(title, state.title),
        amount=checks.changed(amount, state.amount),
        expected_close_date=checks.changed(cmd.expected_close_date, state.expected_close_date),
        at=at,
    )
    if changed.amount is not None and state.status is not DealStatus.OPEN:
        raise DealNotOpenError(
            "a won deal's amount is its contract value; add a change order instead"
        )
    if any(v is not None for v in (changed.title, changed.amount, changed.expected_close_date)):
        events.append(changed)
    step = _next_step(state, cmd)
    if step != (state.next_step, state.next_step_due):
        events.append(NextStepSet(deal_id=state.id, next_step=step[0], due=step[1], at=at))
    owner = None if cmd.owner_id is None else checks.required_text(cmd.owner_id, "owner_id")
    if owner is not None and owner != state.owner_id:
        require_supervisor(cmd, "change a deal's owner")
        events.append(
            DealOwnerChanged(
                deal_id=state.id, previous_owner_id=state.owner_id, owner_id=owner, at=at
            )
        )
    # Same values as now: nothing happened, so nothing is recorded.
    return events


def _next_step(state: Deal, cmd: UpdateDeal) -> tuple[str | None, date | None]:
    if cmd.next_step is not None and not cmd.next_step.strip():
        if cmd.next_step_due is not None:
            raise InvalidCommandError("a due date needs a next step", field="next_step_due")
        return (None, None)  # cleared
    step = state.next_step
    if cmd.next_step is not None:
        step = checks.required_text(cmd.next_step, "next_step", checks.TEXT_MAX)
    due = checks.keep(cmd.next_step_due, state.next_step_due)
    if due is not None and step is None:
        raise InvalidCommandError("a due date needs a next step", field="next_step_due")
    return (step, due)


def _report(state: Deal, cmd: SubmitInitiationReport, at: datetime) -> list[DealEvent]:
    if state.status is not DealStatus.OPEN:
        raise DealNotOpenError("the initiation report belongs to an open deal")

    def money(value: Decimal | None, field: str) -> Decimal | None:
        return None if value is None else checks.amount(value, field)

    margin = cmd.estimated_gross_margin_pct
    report = InitiationReport(
        project_name=checks.optional_text(cmd.project_name, "project_name"),
        project_number=checks.optional_text(cmd.project_number, "project_number"),
        customer_owner_contact_id=cmd.customer_owner_contact_id,
        estimated_contract_amount=money(cmd.estimated_contract_amount, "estimated_contract_amount"),
        estimated_gross_margin_pct=(
            None
            if margin is None
            else checks.percent(margin, "estimated_gross_margin_pct", low=-checks.HUNDRED)
        ),
        sales_expense_budget=money(cmd.sales_expense_budget, "sales_expense_budget"),
        project_category=checks.optional_text(cmd.project_category, "project_category"),
        expected_signing_date=cmd.expected_signing_date,
    )
    if report == state.initiation_report:
        return []
    values = {f.name: getattr(report, f.name) for f in fields(report)}
    return [InitiationReportSubmitted(deal_id=state.id, complete=report.complete, at=at, **values)]
