"""Quote commands: issue, revise, approve, reject, send, accept.

Quotes change only on an open deal (after the win the accepted quote is the
contract; scope changes are change orders). Commands act on a quote's latest
version. Lifecycle of a version::

    issued/revised ──(within limits)──▶ approved ──send──▶ sent ──accept──▶ accepted
          └──(outside limits)──▶ pending_approval ──approve──▶ approved
                                        └──reject──▶ rejected
    a revision supersedes the previous version; accepting a quote supersedes the
    quote accepted before it (one accepted quote per deal).
"""

from datetime import date, datetime
from uuid import UUID

from . import checks
from .commands import AcceptQuote, ApproveQuote, IssueQuote, RejectQuote, ReviseQuote, SendQuote
from .deal import Deal
from .errors import (
    DealNotOpenError,
    DuplicateIdError,
    InvalidCommandError,
    QuoteApprovalRequiredError,
    QuoteExpiredError,
    QuoteStateError,
)
from .events import (
    DealEvent,
    QuoteAccepted,
    QuoteApproved,
    QuoteIssued,
    QuoteRejected,
    QuoteRevised,
    QuoteSent,
)
from .pipelines import Pipeline
from .quotes import Quote, QuoteLine, approval_reasons, totals, valid_lines
from .values import DealStatus, QuoteStatus


def _require_open(state: Deal) -> None:
    if state.status is not DealStatus.OPEN:
        raise DealNotOpenError(
            f"quotes change only on an open deal; deal {state.id} is {state.status}"
        )


def _valid_until(value: date | None, at: datetime) -> date | None:
    if value is not None and value < at.date():
        raise InvalidCommandError("valid_until is in the past", field="valid_until")
    return value


def _figures(lines: tuple[QuoteLine, ...], p: Pipeline) -> dict[str, object]:
    t = totals(lines)
    reasons = approval_reasons(lines, p.max_discount_pct, p.min_margin_pct)
    return {
        "lines": lines,
        "total": t.total,
        "cost": t.cost,
        "gross_margin": t.gross_margin,
        "gross_margin_pct": t.gross_margin_pct,
        "approval_required": bool(reasons),
        "approval_reasons": reasons,
    }


def issue(state: Deal, cmd: IssueQuote, p: Pipeline, at: datetime) -> list[DealEvent]:
    _require_open(state)
    if state.has_quote(cmd.quote_id):
        raise DuplicateIdError(f"quote {cmd.quote_id} already exists", quote_id=str(cmd.quote_id))
    currency = checks.currency(cmd.currency)
    if currency != state.currency:
        raise InvalidCommandError(
            f"the quote is in {currency} but the deal in {state.currency}", field="currency"
        )
    return [
        QuoteIssued(
            deal_id=state.id,
            quote_id=cmd.quote_id,
            version=1,
            currency=currency,
            valid_until=_valid_until(cmd.valid_until, at),
            at=at,
            **_figures(valid_lines(cmd.lines), p),
        )
    ]


def revise(state: Deal, cmd: ReviseQuote, p: Pipeline, at: datetime) -> list[DealEvent]:
    _require_open(state)
    quote = state.quote(cmd.quote_id)
    if quote.status is QuoteStatus.ACCEPTED:
        raise QuoteStateError(
            "the customer accepted this quote; issue a new quote instead of revising it",
            quote_id=str(quote.quote_id),
        )
    valid_until = _valid_until(cmd.valid_until, at) or quote.latest.valid_until
    return [
        QuoteRevised(
            deal_id=state.id,
            quote_id=quote.quote_id,
            version=quote.latest.version + 1,
            valid_until=valid_until,
            reason=checks.optional_text(cmd.reason, "reason", checks.TEXT_MAX),
            at=at,
            **_figures(valid_lines(cmd.lines), p),
        )
    ]


def _pending(state: Deal, quote_id: UUID, action: str) -> Quote:
    quote = state.quote(quote_id)
    if quote.status is not QuoteStatus.PENDING_APPROVAL:
        raise QuoteStateError(
            f"only a quote waiting for approval can be {action}; "
            f"version {quote.latest.version} is {quote.status}",
            quote_id=str(quote.quote_id),
            quote_status=str(quote.status),
        )
    return quote


def approve(state: Deal, cmd: ApproveQuote, at: datetime) -> list[DealEvent]:
    _require_open(state)
    quote = _pending(state, cmd.quote_id, "approved")
    return [
        QuoteApproved(
            deal_id=state.id,
            quote_id=quote.quote_id,
            version=quote.latest.version,
            by=cmd.actor_id,
            note=checks.optional_text(cmd.note, "note", checks.TEXT_MAX),
            at=at,
        )
    ]


def reject(state: Deal, cmd: RejectQuote, at: datetime) -> list[DealEvent]:
    _require_open(state)
    quote = _pending(state, cmd.quote_id, "rejected")
    return [
        QuoteRejected(
            deal_id=state.id,
            quote_id=quote.quote_id,
            version=quote.latest.version,
            by=cmd.actor_id,
            reason=checks.reason(cmd.reason, "rejecting a quote"),
            at=at,
        )
    ]


def _not_expired(quote: Quote, at: datetime) -> None:
    valid_until = quote.latest.valid_until
    if valid_until is not None and at.date() > valid_until:
        raise QuoteExpiredError(
            f"quote {quote.quote_id} was valid until {valid_until.isoformat()}; revise it",
            quote_id=str(quote.quote_id),
        )


def send(state: Deal, cmd: SendQuote, at: datetime) -> list[DealEvent]:
    _require_open(state)
    quote = state.quote(cmd.quote_id)
    if quote.status is QuoteStatus.PENDING_APPROVAL:
        raise QuoteApprovalRequiredError(
            f"quote {quote.quote_id} needs a manager's approval before it is sent",
            quote_id=str(quote.quote_id),
            reasons=list(quote.latest.approval_reasons),
        )
    if quote.status is not QuoteStatus.APPROVED:
        raise QuoteStateError(
            f"a {quote.status} quote cannot be sent", quote_id=str(quote.quote_id)
        )
    _not_expired(quote, at)
    return [
        QuoteSent(deal_id=state.id, quote_id=quote.quote_id, version=quote.latest.version, at=at)
    ]


def accept(state: Deal, cmd: AcceptQuote, at: datetime) -> list[DealEvent]:
    _require_open(state)
    quote = state.quote(cmd.quote_id)
    if quote.status is not QuoteStatus.SENT:
        raise QuoteStateError(
            f"only a sent quote can be accepted; this one is {quote.status}",
            quote_id=str(quote.quote_id),
        )
    _not_expired(quote, at)
    superseded = tuple(q.quote_id for q in state.accepted_quotes if q.quote_id != quote.quote_id)
    return [
        QuoteAccepted(
            deal_id=state.id,
            quote_id=quote.quote_id,
            version=quote.latest.version,
            superseded_quote_ids=superseded,
            at=at,
        )
    ]
