"""Stage gates: what a deal still lacks to enter a stage."""

from .deal import Deal
from .pipelines import GateRequirement, Stage
from .values import InitiationReport, QuoteStatus

_APPROVED_OR_SENT = frozenset({QuoteStatus.APPROVED, QuoteStatus.SENT, QuoteStatus.ACCEPTED})
_SENT = frozenset({QuoteStatus.SENT, QuoteStatus.ACCEPTED})
_ACCEPTED = frozenset({QuoteStatus.ACCEPTED})


def _has_quote(deal: Deal, statuses: frozenset[QuoteStatus]) -> bool:
    return any(q.status in statuses for q in deal.quotes)


def unmet(deal: Deal, stage: Stage) -> tuple[str, ...]:
    """Stable codes of what is missing, e.g. ``initiation_report.project_number`` or
    ``quote_sent``; empty when every gate of ``stage`` is met."""
    missing: list[str] = []
    for gate in stage.gates:
        match gate:
            case GateRequirement.INITIATION_REPORT:
                report = deal.initiation_report or InitiationReport()
                missing.extend(f"initiation_report.{name}" for name in report.missing())
            case GateRequirement.QUOTE_APPROVED_OR_SENT:
                if not _has_quote(deal, _APPROVED_OR_SENT):
                    missing.append("quote_approved_or_sent")
            case GateRequirement.QUOTE_SENT:
                if not _has_quote(deal, _SENT):
                    missing.append("quote_sent")
            case GateRequirement.QUOTE_ACCEPTED:
                if not _has_quote(deal, _ACCEPTED):
                    missing.append("quote_accepted")
    return tuple(missing)
