"""Quotes: lines, totals, gross margin, when approval is needed, and version diffs.

Every amount is computed per line and rounded to cents (half up) before it is
summed, so a quote's total is exactly the sum of the totals its lines show.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from uuid import UUID

from . import checks
from .checks import HUNDRED, money
from .errors import InvalidCommandError, QuoteVersionNotFoundError
from .values import QuoteStatus

_frozen = dataclass(frozen=True, slots=True, kw_only=True)
MAX_LINES = 500


@_frozen
class QuoteLine:
    sku: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    discount_pct: Decimal
    unit_cost: Decimal

    @property
    def net(self) -> Decimal:
        """What the customer pays for the line."""
        return money(self.quantity * self.unit_price * (HUNDRED - self.discount_pct) / HUNDRED)

    @property
    def cost(self) -> Decimal:
        return money(self.quantity * self.unit_cost)

    @property
    def margin(self) -> Decimal:
        return self.net - self.cost

    @property
    def margin_pct(self) -> Decimal | None:
        return margin_pct(self.margin, self.net)


@_frozen
class Totals:
    total: Decimal
    cost: Decimal
    gross_margin: Decimal
    gross_margin_pct: Decimal | None  # None when the total is zero


def margin_pct(margin: Decimal, revenue: Decimal) -> Decimal | None:
    return None if revenue == 0 else money(margin * HUNDRED / revenue)


def totals(lines: Iterable[QuoteLine]) -> Totals:
    lines = tuple(lines)
    total = sum((line.net for line in lines), Decimal("0.00"))
    cost = sum((line.cost for line in lines), Decimal("0.00"))
    return Totals(
        total=total,
        cost=cost,
        gross_margin=total - cost,
        gross_margin_pct=margin_pct(total - cost, total),
    )


def approval_reasons(
    lines: Iterable[QuoteLine], max_discount_pct: Decimal, min_margin_pct: Decimal
) -> tuple[str, ...]:
    """Why the quote needs a manager's approval; empty when it does not."""
    lines = tuple(lines)
    reasons = [
        f"line {n} ({line.sku}): discount {line.discount_pct}% above the {max_discount_pct}% limit"
        for n, line in enumerate(lines, start=1)
        if line.discount_pct > max_discount_pct
    ]
    t = totals(lines)
    if t.gross_margin_pct is None:
        if t.cost > 0:
            reasons.append("zero total with a positive cost: no margin at all")
    elif t.gross_margin_pct < min_margin_pct:
        reasons.append(f"gross margin {t.gross_margin_pct}% below the {min_margin_pct}% floor")
    return tuple(reasons)


def valid_lines(lines: tuple[QuoteLine, ...]) -> tuple[QuoteLine, ...]:
    """The lines with text stripped; raises InvalidCommandError naming the bad line."""
    if not lines:
        raise InvalidCommandError("a quote needs at least one line", field="lines")
    if len(lines) > MAX_LINES:
        raise InvalidCommandError(f"a quote has at most {MAX_LINES} lines", field="lines")
    out = []
    for n, line in enumerate(lines, start=1):
        where = f"lines[{n}]"
        if checks.decimal(line.quantity, f"{where}.quantity") <= 0:
            raise InvalidCommandError(f"{where}.quantity must be positive", field=where)
        out.append(
            QuoteLine(
                sku=checks.required_text(line.sku, f"{where}.sku"),
                description=checks.plain_text(line.description, f"{where}.description"),
                quantity=line.quantity,
                unit_price=checks.amount(line.unit_price, f"{where}.unit_price"),
                discount_pct=checks.percent(line.discount_pct, f"{where}.discount_pct"),
                unit_cost=checks.amount(line.unit_cost, f"{where}.unit_cost"),
            )
        )
    return tuple(out)


# --- state ------------------------------------------------------------------------------


@_frozen
class QuoteVersion:
    version: int
    lines: tuple[QuoteLine, ...]
    valid_until: date | None
    totals: Totals
    approval_required: bool
    approval_reasons: tuple[str, ...]
    status: QuoteStatus
    issued_at: datetime
    reason: str | None = None  # why it was revised
    decided_by: str | None = None  # the manager who approved or rejected it
    decision_note: str | None = None
    sent_at: datetime | None = None
    accepted_at: datetime | None = None


@_frozen
class Quote:
    """A quote and all its versions (every version stays readable)."""

    quote_id: UUID
    currency: str
    versions: tuple[QuoteVersion, ...]

    @property
    def latest(self) -> QuoteVersion:
        return self.versions[-1]

    @property
    def status(self) -> QuoteStatus:
        return self.latest.status

    def version(self, number: int) -> QuoteVersion:
        if not 1 <= number <= len(self.versions):
            raise QuoteVersionNotFoundError(
                f"quote {self.quote_id} has no version {number}",
                quote_id=str(self.quote_id),
                version=number,
            )
        return self.versions[number - 1]


# --- diff -------------------------------------------------------------------------------


class LineChange(StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"
    UNCHANGED = "unchanged"


@_frozen
class FieldChange:
    field: str
    before: Decimal | str | date | None
    after: Decimal | str | date | None


@_frozen
class LineDiff:
    sku: str
    change: LineChange
    fields: tuple[FieldChange, ...]  # what changed (every field for added/removed lines)


@_frozen
class QuoteDiff:
    quote_id: UUID
    from_version: int
    to_version: int
    lines: tuple[LineDiff, ...]
    totals: tuple[FieldChange, ...]  # total, cost, margin, margin %, valid until — if changed


_LINE_FIELDS = ("description", "quantity", "unit_price", "discount_pct", "unit_cost")
_LINE_FIGURES = ("net", "margin", "margin_pct")
_TOTAL_FIELDS = ("total", "cost", "gross_margin", "gross_margin_pct")


def _line_values(line: QuoteLine | None) -> dict[str, Decimal | str | None]:
    names = _LINE_FIELDS + _LINE_FIGURES
    return {name: None if line is None else getattr(line, name) for name in names}


def _keyed(lines: tuple[QuoteLine, ...]) -> dict[tuple[str, int], QuoteLine]:
    """Lines keyed by (sku, occurrence) so a sku quoted twice still pairs up in order."""
    seen: dict[str, int] = {}
    out = {}
    for line in lines:
        n = seen.get(line.sku, 0)
        seen[line.sku] = n + 1
        out[(line.sku, n)] = line
    return out


def _changes(before: dict, after: dict) -> tuple[FieldChange, ...]:
    return tuple(
        FieldChange(field=name, before=before[name], after=after[name])
        for name in before
        if before[name] != after[name]
    )


def diff(quote: Quote, from_version: int, to_version: int) -> QuoteDiff:
    """What changed between two versions, line by line (lines pair up by sku)."""
    old, new = quote.version(from_version), quote.version(to_version)
    old_lines, new_lines = _keyed(old.lines), _keyed(new.lines)
    keys = list(new_lines) + [k for k in old_lines if k not in new_lines]
    lines = []
    for key in keys:
        a, b = old_lines.get(key), new_lines.get(key)
        fields = _changes(_line_values(a), _line_values(b))
        if a is None:
            change = LineChange.ADDED
        elif b is None:
            change = LineChange.REMOVED
        else:
            change = LineChange.CHANGED if fields else LineChange.UNCHANGED
        lines.append(LineDiff(sku=key[0], change=change, fields=fields))
    before = {n: getattr(old.totals, n) for n in _TOTAL_FIELDS} | {"valid_until": old.valid_until}
    after = {n: getattr(new.totals, n) for n in _TOTAL_FIELDS} | {"valid_until": new.valid_until}
    return QuoteDiff(
        quote_id=quote.quote_id,
        from_version=from_version,
        to_version=to_version,
        lines=tuple(lines),
        totals=_changes(before, after),
    )
