"""Folding events into a Deal. Every event raises the version by exactly one and sets
the time of the latest activity; nothing here needs the pipeline definition."""

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from functools import reduce
from uuid import UUID

from .checks import keep
from .deal import ChangeOrder, Deal, Forecast, ForecastConflict, Loss, StageVisit
from .events import (
    ChangeOrderAdded,
    CompetitorAdded,
    CompetitorRemoved,
    CompetitorUpdated,
    DealClosed,
    DealEvent,
    DealLost,
    DealOpened,
    DealOwnerChanged,
    DealReopened,
    DealUpdated,
    DealWon,
    ForecastConflictRaised,
    ForecastOverridden,
    ForecastOverrideCleared,
    InitiationReportSubmitted,
    NextStepSet,
    QuoteAccepted,
    QuoteApproved,
    QuoteIssued,
    QuoteRejected,
    QuoteRevised,
    QuoteSent,
    StageChanged,
)
from .quotes import Quote, QuoteVersion, Totals
from .values import (
    Competitor,
    DealStatus,
    ForecastCategory,
    InitiationReport,
    QuoteStatus,
    name_key,
)


def evolve(state: Deal, event: DealEvent) -> Deal:
    """Fold one event; every event raises the version by exactly one."""
    return replace(_apply(state, event), version=state.version + 1, last_activity_at=event.at)


def replay(events: Iterable[DealEvent], state: Deal | None = None) -> Deal:
    """The state after folding ``events`` (from the initial ``Deal()`` by default)."""
    return reduce(evolve, events, state if state is not None else Deal())


def _apply(state: Deal, event: DealEvent) -> Deal:
    match event:
        case DealOpened():
            return _opened(event)
        case DealUpdated():
            return replace(
                state,
                title=keep(event.title, state.title),
                amount=keep(event.amount, state.amount),
                expected_close_date=keep(event.expected_close_date, state.expected_close_date),
            )
        case NextStepSet(next_step=step, due=due):
            return replace(state, next_step=step, next_step_due=due)
        case DealOwnerChanged(owner_id=owner):
            return replace(state, owner_id=owner)
        case InitiationReportSubmitted():
            return replace(state, initiation_report=_report(event))
        case StageChanged(to_stage=to, probability=p, forecast_category=c, at=at):
            forecast = replace(state.forecast, suggested_probability=p, suggested_category=c)
            return replace(_enter(state, to, at), forecast=forecast)
        case ForecastConflictRaised():
            return replace(state, forecast=_conflicted(state.forecast, event))
        case ForecastOverridden():
            return replace(state, forecast=_overridden(state.forecast, event))
        case ForecastOverrideCleared():
            return replace(state, forecast=_suggested(state.forecast))
        case CompetitorAdded() | CompetitorUpdated():
            entry = Competitor(
                name=event.name,
                strengths=event.strengths,
                weaknesses=event.weaknesses,
                price_position=event.price_position,
            )
            others = tuple(c for c in state.competitors if name_key(c.name) != name_key(entry.name))
            return replace(state, competitors=(*others, entry))
        case CompetitorRemoved(name=name):
            kept = tuple(c for c in state.competitors if name_key(c.name) != name_key(name))
            return replace(state, competitors=kept)
        case QuoteIssued():
            quote = Quote(
                quote_id=event.quote_id, currency=event.currency, versions=(_version(event),)
            )
            return replace(state, quotes=(*state.quotes, quote))
        case QuoteRevised():
            return _map_quote(state, event.quote_id, lambda q: _revised(q, event))
        case QuoteApproved(by=by, note=note):
            return _set_latest(
                state, event.quote_id, QuoteStatus.APPROVED, decided_by=by, decision_note=note
            )
        case QuoteRejected(by=by, reason=reason):
            return _set_latest(
                state, event.quote_id, QuoteStatus.REJECTED, decided_by=by, decision_note=reason
            )
        case QuoteSent(quote_id=qid, at=at):
            return _set_latest(state, qid, QuoteStatus.SENT, sent_at=at)
        case QuoteAccepted(quote_id=qid, superseded_quote_ids=superseded, at=at):
            for old in superseded:
                state = _set_latest(state, old, QuoteStatus.SUPERSEDED)
            return _set_latest(state, qid, QuoteStatus.ACCEPTED, accepted_at=at)
        case DealWon():
            won = _enter(state, event.stage, event.at)
            return replace(
                won,
                status=DealStatus.WON,
                contract_number=event.contract_number,
                signed_date=event.signed_date,
                contract_value=event.contract_value,
                contract_quote_id=event.quote_id,
                amount=event.contract_value,
                forecast=Forecast(
                    suggested_category=event.forecast_category,
                    suggested_probability=event.probability,
                ),
                won_at=event.at,
            )
        case DealLost(stage=stage, cause=cause, competitor=competitor, summary=summary, at=at):
            return replace(
                _leave(state, at),
                status=DealStatus.LOST,
                loss=Loss(stage=stage, cause=cause, competitor=competitor, summary=summary, at=at),
                # A lost deal weighs nothing in any forecast.
                forecast=Forecast(
                    suggested_category=ForecastCategory.OMITTED, suggested_probability=Decimal(0)
                ),
            )
        case DealReopened(stage=stage, status=status, at=at):
            return replace(
                _enter(state, stage, at),
                status=status,
                loss=None,
                acceptance_date=None,
                closing_summary=None,
                closed_at=None,
                forecast=Forecast(
                    suggested_category=event.forecast_category,
                    suggested_probability=event.probability,
                ),
            )
        case ChangeOrderAdded():
            order = ChangeOrder(
                change_order_id=event.change_order_id,
                description=event.description,
                amount_delta=event.amount_delta,
                at=event.at,
            )
            return replace(
                state,
                change_orders=(*state.change_orders, order),
                contract_value=event.contract_value,
                amount=event.contract_value,
            )
        case DealClosed(acceptance_date=accepted, summary=summary, at=at):
            return replace(
                _leave(state, at),
                status=DealStatus.CLOSED,
                acceptance_date=accepted,
                closing_summary=summary,
                closed_at=at,
            )
    raise TypeError(f"not a deal event: {event!r}")


def _opened(event: DealOpened) -> Deal:
    return Deal(
        id=event.deal_id,
        account_id=event.account_id,
        title=event.title,
        owner_id=event.owner_id,
        pipeline=event.pipeline,
        source=event.source,
        stage=event.stage,
        stage_history=(StageVisit(stage=event.stage, entered_at=event.at),),
        amount=event.amount,
        currency=event.currency,
        forecast=Forecast(
            suggested_category=event.forecast_category, suggested_probability=event.probability
        ),
        expected_close_date=event.expected_close_date,
        opened_at=event.at,
    )


# --- stage history ----------------------------------------------------------------------


def _leave(state: Deal, at: datetime) -> Deal:
    """Close the open visit, if any."""
    history = tuple(replace(v, left_at=at) if v.left_at is None else v for v in state.stage_history)
    return replace(state, stage_history=history)


def _enter(state: Deal, stage: str, at: datetime) -> Deal:
    left = _leave(state, at)
    visit = StageVisit(stage=stage, entered_at=at)
    return replace(left, stage=stage, stage_history=(*left.stage_history, visit))


# --- forecast ---------------------------------------------------------------------------


def _conflicted(f: Forecast, e: ForecastConflictRaised) -> Forecast:
    old = f.conflict or ForecastConflict(stage=e.stage, raised_at=e.at)
    category = e.asserted_category is not None
    probability = e.asserted_probability is not None
    conflict = ForecastConflict(
        stage=e.stage,
        raised_at=e.at,
        asserted_category=e.asserted_category if category else old.asserted_category,
        suggested_category=e.suggested_category if category else old.suggested_category,
        asserted_probability=e.asserted_probability if probability else old.asserted_probability,
        suggested_probability=(
            e.suggested_probability if probability else old.suggested_probability
        ),
    )
    return replace(f, conflict=conflict)


def _overridden(f: Forecast, e: ForecastOverridden) -> Forecast:
    """Assert the given fields; an assertion resolves that field's conflict."""
    conflict = f.conflict
    if conflict is not None:
        if e.category is not None:
            conflict = replace(conflict, asserted_category=None, suggested_category=None)
        if e.probability is not None:
            conflict = replace(conflict, asserted_probability=None, suggested_probability=None)
        conflict = conflict if conflict.fields else None
    return replace(
        f,
        asserted_category=keep(e.category, f.asserted_category),
        asserted_probability=keep(e.probability, f.asserted_probability),
        asserted_by=e.by,
        asserted_reason=e.reason,
        conflict=conflict,
    )


def _suggested(f: Forecast) -> Forecast:
    return Forecast(
        suggested_category=f.suggested_category, suggested_probability=f.suggested_probability
    )


# --- quotes -----------------------------------------------------------------------------


def _report(e: InitiationReportSubmitted) -> InitiationReport:
    return InitiationReport(
        project_name=e.project_name,
        project_number=e.project_number,
        customer_owner_contact_id=e.customer_owner_contact_id,
        estimated_contract_amount=e.estimated_contract_amount,
        estimated_gross_margin_pct=e.estimated_gross_margin_pct,
        sales_expense_budget=e.sales_expense_budget,
        project_category=e.project_category,
        expected_signing_date=e.expected_signing_date,
    )


def _version(e: QuoteIssued | QuoteRevised) -> QuoteVersion:
    return QuoteVersion(
        version=e.version,
        lines=e.lines,
        valid_until=e.valid_until,
        totals=Totals(
            total=e.total,
            cost=e.cost,
            gross_margin=e.gross_margin,
            gross_margin_pct=e.gross_margin_pct,
        ),
        approval_required=e.approval_required,
        approval_reasons=e.approval_reasons,
        status=QuoteStatus.PENDING_APPROVAL if e.approval_required else QuoteStatus.APPROVED,
        issued_at=e.at,
        reason=e.reason if isinstance(e, QuoteRevised) else None,
    )


def _revised(q: Quote, e: QuoteRevised) -> Quote:
    previous = replace(q.latest, status=QuoteStatus.SUPERSEDED)
    return replace(q, versions=(*q.versions[:-1], previous, _version(e)))


def _map_quote(state: Deal, quote_id: UUID, change: Callable[[Quote], Quote]) -> Deal:
    quotes = tuple(change(q) if q.quote_id == quote_id else q for q in state.quotes)
    return replace(state, quotes=quotes)


def _set_latest(state: Deal, quote_id: UUID, status: QuoteStatus, **changes: object) -> Deal:
    def change(q: Quote) -> Quote:
        latest = replace(q.latest, status=status, **changes)
        return replace(q, versions=(*q.versions[:-1], latest))

    return _map_quote(state, quote_id, change)
