"""A known book of six key-account deals over January 2026 (day 0 = Mon 5 Jan, 09:00 UTC).

| deal | owner | acct | amount      | close  | story                                            |
|------|-------|------|-------------|--------|--------------------------------------------------|
| D1   | rep-a | A    | 100,000 CNY | 31 Mar | init d2, proposal d5, tender d9, nego d12,       |
|      |       |      |             |        | competitor Huawei d10, won d20                   |
| D2   | rep-b | B    |  50,000 CNY | 15 Apr | init d3, lost d10 to Huawei                      |
| D3   | rep-a | A    |  70,000 USD | —      | skipped to proposal d4 (manager override)        |
| D4   | rep-a | B    | 200,000 CNY | 28 Feb | init d4, proposal d6, tender d8, back to         |
|      |       |      |             |        | proposal d11, tender d14, probability 75% d15    |
| D5   | rep-b | A    |  30,000 CNY | 10 Mar | lost d7 in prospecting, not shortlisted          |
| D6   | rep-b | B    |  80,000 CNY | 31 Mar | init d6, proposal d7, tender d8, nego d9         |
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from uuid import UUID

from services.deals.domain import AddCompetitor, LossCause, OverrideForecast

from .desk import ACCOUNT_B, Desk, day


@dataclass
class Book:
    d1: UUID
    d2: UUID
    d3: UUID
    d4: UUID
    d5: UUID
    d6: UUID


async def build(desk: Desk) -> Book:
    a = desk
    d1 = await a.open(day(0), amount="100000", close=date(2026, 3, 31))
    d2 = await a.open(
        day(1), owner="rep-b", account=ACCOUNT_B, amount="50000", close=date(2026, 4, 15)
    )
    d3 = await a.open(day(1), amount="70000", currency="USD")
    d4 = await a.open(day(2), account=ACCOUNT_B, amount="200000", close=date(2026, 2, 28))
    d5 = await a.open(day(3), owner="rep-b", amount="30000", close=date(2026, 3, 10))
    d6 = await a.open(
        day(5), owner="rep-b", account=ACCOUNT_B, amount="80000", close=date(2026, 3, 31)
    )
    await a.advance(d1, "initiation", day(2))
    await a.advance(d2, "initiation", day(3))
    await a.skip_to(d3, "proposal", day(4))
    await a.advance(d4, "initiation", day(4))
    await a.advance(d1, "proposal", day(5))
    await a.advance(d4, "proposal", day(6))
    await a.advance(d6, "initiation", day(6))
    await a.lose(d5, day(7), LossCause.NOT_SHORTLISTED)
    await a.advance(d6, "proposal", day(7))
    await a.advance(d4, "tender", day(8))
    await a.advance(d6, "tender", day(8))
    await a.advance(d1, "tender", day(9))
    await a.advance(d6, "negotiation", day(9))
    await a.do(d1, AddCompetitor, day(10), name="Huawei")
    await a.lose(d2, day(10), LossCause.LOST_TO_COMPETITOR, "huawei ")
    await a.to(d4, "proposal", day(11), reason="customer re-scoped")
    await a.advance(d1, "negotiation", day(12))
    await a.to(d4, "tender", day(14))
    await a.do(d4, OverrideForecast, day(15), probability=Decimal(75), reason="strong coach")
    await a.win(d1, day(20))
    return Book(d1, d2, d3, d4, d5, d6)
