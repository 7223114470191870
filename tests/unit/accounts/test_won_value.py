"""Won value by grade and tier, and the 20:80 figure: pure sums over accounts."""

from decimal import Decimal
from itertools import combinations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.accounts.domain.enums import Grade, Tier
from services.accounts.domain.won_value import (
    AccountWins,
    Won,
    WonTotal,
    concentration,
    report,
    top_count,
)

from .strategies import FAST

values = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1e12"), places=2)
positive_lists = st.lists(values, min_size=1, max_size=40)
currencies = st.sampled_from(["CNY", "USD", "EUR"])
accounts = st.builds(
    AccountWins,
    grade=st.none() | st.sampled_from(Grade),
    tier=st.none() | st.sampled_from(Tier),
    won=st.lists(
        st.builds(Won, currency=currencies, deals=st.integers(1, 5), value=values),
        max_size=3,
        unique_by=lambda w: w.currency,
    ).map(tuple),
)


def cny(value: str, deals: int = 1) -> Won:
    return Won(currency="CNY", deals=deals, value=Decimal(value))


def usd(value: str, deals: int = 1) -> Won:
    return Won(currency="USD", deals=deals, value=Decimal(value))


@pytest.mark.parametrize(
    ("accounts", "top"),
    [(1, 1), (4, 1), (5, 1), (6, 2), (10, 2), (11, 3), (15, 3), (100, 20), (101, 21)],
)
def test_the_top_fifth_is_rounded_up(accounts: int, top: int) -> None:
    assert top_count(accounts) == top


def test_the_top_fifth_of_ten_accounts_brings_its_share() -> None:
    # two accounts of ten bring 800 of 1,000
    figure = concentration("CNY", [Decimal(v) for v in (500, 300, *[25] * 8)])
    assert figure is not None
    assert (figure.accounts, figure.top_accounts) == (10, 2)
    assert (figure.value, figure.top_value, figure.top_share) == (
        Decimal(1000),
        Decimal(800),
        Decimal("0.8000"),
    )


def test_accounts_that_won_nothing_are_not_counted() -> None:
    figure = concentration("CNY", [Decimal(90), Decimal(10), Decimal(0), Decimal(0)])
    assert figure is not None
    assert (figure.accounts, figure.top_accounts, figure.top_share) == (2, 1, Decimal("0.9000"))
    assert concentration("CNY", []) is None
    assert concentration("CNY", [Decimal(0)]) is None


def test_the_share_is_rounded_to_four_places() -> None:
    figure = concentration("CNY", [Decimal(1), Decimal(1), Decimal(1)])
    assert figure is not None and figure.top_share == Decimal("0.3333")


@FAST
@given(positive_lists)
def test_the_share_lies_between_the_top_fifth_and_all(amounts: list[Decimal]) -> None:
    figure = concentration("CNY", amounts)
    assert figure is not None
    assert figure.top_accounts == top_count(len(amounts))
    assert Decimal("0.2") <= figure.top_share <= 1
    assert figure.top_share >= round(Decimal(figure.top_accounts) / len(amounts), 4)
    assert figure.value == sum(amounts)


@FAST
@given(st.lists(values, min_size=1, max_size=5))
def test_up_to_five_accounts_the_top_fifth_is_the_largest_one(amounts: list[Decimal]) -> None:
    figure = concentration("CNY", amounts)
    assert figure is not None
    assert (figure.top_accounts, figure.top_value) == (1, max(amounts))
    if len(amounts) == 1:
        assert figure.top_share == 1


@FAST
@given(st.lists(values, min_size=1, max_size=11))
def test_the_top_value_is_the_largest_sum_of_that_many_accounts(amounts: list[Decimal]) -> None:
    figure = concentration("CNY", amounts)
    assert figure is not None
    best = max(sum(pick) for pick in combinations(amounts, figure.top_accounts))
    assert figure.top_value == best


@FAST
@given(positive_lists, st.randoms(use_true_random=False), st.integers(2, 1000))
def test_the_share_ignores_order_and_scale(amounts: list[Decimal], rnd, factor: int) -> None:
    shuffled = list(amounts)
    rnd.shuffle(shuffled)
    figure = concentration("CNY", amounts)
    assert figure == concentration("CNY", shuffled)
    scaled = concentration("CNY", [a * factor for a in amounts])
    assert scaled is not None and figure is not None
    assert scaled.top_share == figure.top_share


@FAST
@given(values, st.integers(1, 60))
def test_equal_accounts_share_in_proportion(amount: Decimal, n: int) -> None:
    figure = concentration("CNY", [amount] * n)
    assert figure is not None
    assert figure.top_share == round(Decimal(top_count(n)) / n, 4)


def test_grades_and_tiers_are_counted_with_their_wins_per_currency() -> None:
    given_accounts = [
        AccountWins(grade=Grade.A, tier=Tier.VIP, won=(cny("1000.00", 2), usd("50.00"))),
        AccountWins(grade=Grade.A, tier=Tier.GROWTH, won=(cny("250.50"),)),
        AccountWins(grade=Grade.B, tier=Tier.VIP),
        AccountWins(grade=None, tier=None, won=(usd("10.00"),)),
    ]
    figures = report(given_accounts)

    assert figures.overall.accounts == 4
    assert figures.overall.won == (
        WonTotal(currency="CNY", accounts=2, deals=3, value=Decimal("1250.50")),
        WonTotal(currency="USD", accounts=2, deals=2, value=Decimal("60.00")),
    )
    by_grade = dict(figures.by_grade)
    assert list(by_grade) == [Grade.A, Grade.B, Grade.C, Grade.D, None]
    assert by_grade[Grade.A].accounts == 2
    assert by_grade[Grade.A].won[0] == WonTotal(
        currency="CNY", accounts=2, deals=3, value=Decimal("1250.50")
    )
    assert (by_grade[Grade.B].accounts, by_grade[Grade.B].won) == (1, ())
    assert (by_grade[Grade.C].accounts, by_grade[Grade.C].won) == (0, ())
    assert by_grade[None].won == (WonTotal(currency="USD", accounts=1, deals=1, value=Decimal(10)),)
    by_tier = dict(figures.by_tier)
    assert list(by_tier) == [*Tier, None]
    assert by_tier[Tier.VIP].accounts == 2
    assert [(g, t, s.accounts) for g, t, s in figures.by_grade_tier] == [
        (Grade.A, Tier.VIP, 1),
        (Grade.A, Tier.GROWTH, 1),
        (Grade.B, Tier.VIP, 1),
        (None, None, 1),
    ]
    assert [(c.currency, c.accounts, c.top_share) for c in figures.concentration] == [
        ("CNY", 2, Decimal("0.7997")),
        ("USD", 2, Decimal("0.8333")),
    ]


@FAST
@given(st.lists(accounts, max_size=30))
def test_every_grouping_adds_up_to_the_whole_per_currency(given_accounts) -> None:
    figures = report(given_accounts)
    overall = {w.currency: w for w in figures.overall.won}
    assert set(overall) == {w.currency for a in given_accounts for w in a.won}
    groupings = [
        [s for _g, s in figures.by_grade],
        [s for _t, s in figures.by_tier],
        [s for _g, _t, s in figures.by_grade_tier],
    ]
    for segments in groupings:
        assert sum(s.accounts for s in segments) == len(given_accounts)
        for currency, total in overall.items():
            parts = [w for s in segments for w in s.won if w.currency == currency]
            assert sum(w.value for w in parts) == total.value
            assert sum(w.deals for w in parts) == total.deals
            assert sum(w.accounts for w in parts) == total.accounts
    for figure in figures.concentration:
        assert figure.value == overall[figure.currency].value
        assert figure.accounts == overall[figure.currency].accounts
