"""Won contract value by account grade and tier, and the 20:80 figure (二八法则).

Pure: the read model hands in, per account, its grade, its tier and its won deals
per currency; everything is added up here. Currencies are never added together.

The 20:80 figure, per currency: of the accounts with a won value above zero in
that currency, the top fifth — ``ceil(0.2 × n)`` accounts, by won value — and the
share of the currency's won value they bring. Accounts that won nothing are left
out of ``n``, so the figure does not move when prospects are added. Ties at the
edge of the top fifth do not matter: whichever of them is taken, the sum is the
same. With positive values the share is at least ``top / n`` ≥ 0.2 and at most 1.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal

from .enums import Grade, Tier

_frozen = dataclass(frozen=True, slots=True, kw_only=True)

ZERO = Decimal(0)
SHARE_PLACES = Decimal("0.0001")
TOP_DIVISOR = 5  # the top fifth: 20 of every 100 accounts


@_frozen
class Won:
    """One account's won deals in one currency."""

    currency: str
    deals: int
    value: Decimal


@_frozen
class AccountWins:
    """One account as the view sees it: grade, tier, won deals per currency."""

    grade: Grade | None
    tier: Tier | None
    won: tuple[Won, ...] = ()


@_frozen
class WonTotal:
    """Won deals of a group of accounts in one currency."""

    currency: str
    accounts: int  # accounts of the group with a won deal in this currency
    deals: int
    value: Decimal


@_frozen
class Segment:
    """A group of accounts (one grade, one tier, …): how many, and what they won."""

    accounts: int
    won: tuple[WonTotal, ...]  # by currency, in currency order


@_frozen
class Concentration:
    """The 20:80 figure of one currency."""

    currency: str
    accounts: int  # accounts with a won value above zero
    top_accounts: int  # ceil(0.2 × accounts)
    value: Decimal
    top_value: Decimal
    top_share: Decimal  # top_value / value, four places


@_frozen
class WonValueReport:
    overall: Segment
    by_grade: tuple[tuple[Grade | None, Segment], ...]  # every grade, then ungraded
    by_tier: tuple[tuple[Tier | None, Segment], ...]  # every tier, then no tier
    by_grade_tier: tuple[tuple[Grade | None, Tier | None, Segment], ...]  # non-empty cells
    concentration: tuple[Concentration, ...]  # by currency


def top_count(accounts: int) -> int:
    """``ceil(0.2 × accounts)``, in integers (no float rounding at 5, 10, 15 …)."""
    return -(-accounts // TOP_DIVISOR)


def concentration(currency: str, values: Iterable[Decimal]) -> Concentration | None:
    """The 20:80 figure of one currency's won values per account (None: nothing won)."""
    ranked = sorted((v for v in values if v > 0), reverse=True)
    if not ranked:
        return None
    top = top_count(len(ranked))
    value, top_value = sum(ranked, ZERO), sum(ranked[:top], ZERO)
    return Concentration(
        currency=currency,
        accounts=len(ranked),
        top_accounts=top,
        value=value,
        top_value=top_value,
        top_share=(top_value / value).quantize(SHARE_PLACES, rounding=ROUND_HALF_EVEN),
    )


def report(accounts: Iterable[AccountWins]) -> WonValueReport:
    """Counts and won value overall, by grade, by tier and by grade × tier; 20:80 figures."""
    overall = _Tally()
    grades = {g: _Tally() for g in (*Grade, None)}
    tiers = {t: _Tally() for t in (*Tier, None)}
    cells: dict[tuple[Grade | None, Tier | None], _Tally] = {}
    per_currency: dict[str, list[Decimal]] = {}
    for account in accounts:
        cell = cells.setdefault((account.grade, account.tier), _Tally())
        for tally in (overall, grades[account.grade], tiers[account.tier], cell):
            tally.add(account)
        for won in account.won:
            per_currency.setdefault(won.currency, []).append(won.value)
    figures = (concentration(c, values) for c, values in sorted(per_currency.items()))
    return WonValueReport(
        overall=overall.segment(),
        by_grade=tuple((g, t.segment()) for g, t in grades.items()),
        by_tier=tuple((tier, t.segment()) for tier, t in tiers.items()),
        by_grade_tier=tuple(
            (g, tier, cells[(g, tier)].segment())
            for g in (*Grade, None)
            for tier in (*Tier, None)
            if (g, tier) in cells
        ),
        concentration=tuple(f for f in figures if f is not None),
    )


@dataclass(slots=True)
class _Tally:
    accounts: int = 0
    won: dict[str, list] = field(default_factory=dict)  # currency → [accounts, deals, value]

    def add(self, account: AccountWins) -> None:
        self.accounts += 1
        for won in account.won:
            sums = self.won.setdefault(won.currency, [0, 0, ZERO])
            sums[0] += 1
            sums[1] += won.deals
            sums[2] += won.value

    def segment(self) -> Segment:
        return Segment(
            accounts=self.accounts,
            won=tuple(
                WonTotal(currency=c, accounts=a, deals=d, value=v)
                for c, (a, d, v) in sorted(self.won.items())
            ),
        )
