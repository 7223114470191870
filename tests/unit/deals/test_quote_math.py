"""Properties of the quote arithmetic: totals add up line by line, approval follows the
limits exactly, and a version diffed with itself shows no change."""

from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

from hypothesis import given, settings
from hypothesis import strategies as st

from services.deals.domain import Quote, QuoteLine, QuoteStatus, QuoteVersion, diff, totals
from services.deals.domain.quotes import LineChange, approval_reasons

FAST = settings(max_examples=150, deadline=None, database=None)
LINES = st.lists(
    st.builds(
        QuoteLine,
        sku=st.sampled_from(["A", "B", "C"]),
        description=st.just(""),
        quantity=st.decimals(min_value=Decimal("0.5"), max_value=1000, places=1),
        unit_price=st.decimals(min_value=0, max_value=1_000_000, places=2),
        discount_pct=st.decimals(min_value=0, max_value=100, places=1),
        unit_cost=st.decimals(min_value=0, max_value=1_000_000, places=2),
    ),
    min_size=1,
    max_size=6,
).map(tuple)


@FAST
@given(lines=LINES)
def test_totals_are_the_sum_of_the_rounded_lines(lines):
    t = totals(lines)
    assert t.total == sum(line.net for line in lines)
    assert t.cost == sum(line.cost for line in lines)
    assert t.gross_margin == t.total - t.cost
    assert t.total >= 0 and t.total.as_tuple().exponent == -2
    if t.total:
        assert abs(t.gross_margin_pct - t.gross_margin * 100 / t.total) <= Decimal("0.005")
    else:
        assert t.gross_margin_pct is None


@FAST
@given(
    lines=LINES,
    max_discount=st.decimals(min_value=0, max_value=100, places=0),
    min_margin=st.decimals(min_value=-50, max_value=60, places=0),
)
def test_approval_is_needed_exactly_when_a_limit_is_crossed(lines, max_discount, min_margin):
    t = totals(lines)
    crossed = any(line.discount_pct > max_discount for line in lines) or (
        t.gross_margin_pct < min_margin if t.gross_margin_pct is not None else t.cost > 0
    )
    assert bool(approval_reasons(lines, max_discount, min_margin)) == crossed


@FAST
@given(lines=LINES)
def test_a_version_diffed_with_itself_is_unchanged(lines):
    version = QuoteVersion(
        version=1,
        lines=lines,
        valid_until=None,
        totals=totals(lines),
        approval_required=False,
        approval_reasons=(),
        status=QuoteStatus.APPROVED,
        issued_at=datetime(2026, 3, 2, tzinfo=UTC),
    )
    quote = Quote(quote_id=UUID(int=1), currency="CNY", versions=(version,))
    d = diff(quote, 1, 1)
    assert d.totals == ()
    assert len(d.lines) == len(lines)
    assert all(line.change is LineChange.UNCHANGED and line.fields == () for line in d.lines)
