"""The waterfall balances: start + created + reopened + pulled in + increased
− pushed out − decreased − won − lost = end, by count and amount, per currency.

Window: day 10 → day 30; close window March 2026. Amounts in thousands below.

| deal | before day 10                  | in the window                                      |
|------|--------------------------------|----------------------------------------------------|
| W1   | 100, close 15 Mar, negotiation | +20 (d12), won d20 (leaves with 120)               |
| W2   | —                              | created d11 (50), −10 (d15), won d25 (leaves w/ 40)|
| W3   | 70, close 30 Apr (out)         | in d14, out d22, in again d26                      |
| W4   | 40, close 5 Mar                | lost d12, reopened d18                             |
| W5   | 60, close 10 Mar               | close moved to 20 Feb d13 (pushed out)             |
| W6   | —                              | created d15 closing in June (out), in d16 (25)     |
| W9   | —                              | created d16 (30), lost d17                         |
| W7   | USD 10, close 1 Mar            | +5 (d20)                                           |
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from services.deals.domain import LossCause, ReopenDeal, Role, UpdateDeal

from .desk import Desk, day

MARCH = {"close_from": "2026-03-01", "close_to": "2026-03-31"}


async def to_negotiation(desk: Desk, deal: UUID, start: int) -> None:
    for i, stage in enumerate(("initiation", "proposal", "tender", "negotiation")):
        await desk.advance(deal, stage, day(start + i))


async def update(desk: Desk, deal: UUID, when: int, **fields: Any) -> None:
    await desk.do(deal, UpdateDeal, day(when), **fields)


async def build(desk: Desk) -> None:
    w1 = await desk.open(day(0), amount="100000", close=date(2026, 3, 15))
    await to_negotiation(desk, w1, 1)
    w3 = await desk.open(day(0), amount="70000", close=date(2026, 4, 30))
    w4 = await desk.open(day(0), amount="40000", close=date(2026, 3, 5))
    w5 = await desk.open(day(0), amount="60000", close=date(2026, 3, 10))
    w7 = await desk.open(day(0), amount="10000", currency="USD", close=date(2026, 3, 1))
    w2 = await desk.open(day(11), amount="50000", close=date(2026, 3, 20))
    await desk.advance(w2, "initiation", day(12))
    await desk.advance(w2, "proposal", day(13))
    await desk.advance(w2, "tender", day(14))
    await update(desk, w1, 12, amount=Decimal(120000))
    await desk.lose(w4, day(12), LossCause.CUSTOMER_CANCELLED)
    await update(desk, w5, 13, expected_close_date=date(2026, 2, 20))
    await update(desk, w3, 14, expected_close_date=date(2026, 3, 25))
    await update(desk, w2, 15, amount=Decimal(40000))
    w6 = await desk.open(day(15), amount="25000", close=date(2026, 6, 30))
    await desk.advance(w2, "negotiation", day(16))
    await update(desk, w6, 16, expected_close_date=date(2026, 3, 31))
    w9 = await desk.open(day(16), amount="30000", close=date(2026, 3, 2))
    await desk.lose(w9, day(17), LossCause.NO_BID_MARGIN)
    await desk.do(w4, ReopenDeal, day(18), Role.MANAGER, "mgr-1", reason="budget back")
    await desk.win(w1, day(20))
    await update(desk, w7, 20, amount=Decimal(15000))
    await update(desk, w3, 22, expected_close_date=date(2026, 5, 10))
    await desk.win(w2, day(25))
    await update(desk, w3, 26, expected_close_date=date(2026, 3, 28))


def figures(block: dict[str, Any]) -> dict[str, tuple]:
    return {
        name: (value["count"], value["amount"])
        for name, value in block.items()
        if isinstance(value, dict)
    }


async def test_every_bucket_of_a_tricky_month(views) -> None:
    await build(views.desk)
    await views.catch_up()

    view = await views.get(
        "/views/waterfall", **{"from": day(10).isoformat(), "to": day(30).isoformat()}, **MARCH
    )

    cny, usd = view["currencies"]
    assert figures(cny) == {
        "start": (3, "200000.00"),  # W1, W4, W5
        "created": (2, "80000.00"),  # W2, W9
        "reopened": (1, "40000.00"),  # W4
        "pulled_in": (3, "165000.00"),  # W3 twice, W6
        "increased": (0, "20000.00"),  # W1
        "pushed_out": (2, "130000.00"),  # W5, W3
        "decreased": (0, "10000.00"),  # W2
        "won": (2, "160000.00"),  # W1 at 120, W2 at 40
        "lost": (2, "70000.00"),  # W4, W9
        "end": (3, "135000.00"),  # W3, W4, W6
    }
    assert (cny["increased"]["deals"], cny["decreased"]["deals"]) == (1, 1)
    assert cny["balanced"] and usd["balanced"]
    assert figures(usd)["start"] == (1, "10000.00") and figures(usd)["end"] == (1, "15000.00")
    assert figures(usd)["increased"] == (0, "5000.00")


async def test_it_balances_for_any_window(views) -> None:
    await build(views.desk)
    await views.catch_up()
    moments = [0, 10, 11, 12, 14.5, 16, 18, 20, 25, 26, 40]

    for i, start in enumerate(moments):
        for end in moments[i:]:
            for scope in ({}, MARCH, {"close_from": "2026-03-11"}):
                params = {"from": day(start).isoformat(), "to": day(end).isoformat(), **scope}
                view = await views.get("/views/waterfall", **params)
                assert all(c["balanced"] for c in view["currencies"]), params
                if not scope:  # without a close window, start and end are the pipeline then
                    pipeline = await views.get("/views/pipeline", as_of=day(end).isoformat())
                    assert [
                        (c["currency"], c["end"]["count"], c["end"]["amount"])
                        for c in view["currencies"]
                        if c["end"]["count"]
                    ] == [(t["currency"], t["deals"], t["amount"]) for t in pipeline["totals"]]
