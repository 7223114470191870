"""A view ``as_of`` a moment equals the live view taken at that moment.

The book is built over January 2026 and every view is read live (each says the
moment it describes in ``as_of``); then the deals move on (events stamped a day
later: wins, a loss, a reopen, a new deal), and the same views ``as_of`` those
moments must give exactly what was seen live, figure for figure.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from services.deals.domain import LossCause, ReopenDeal, Role, UpdateDeal

from .scenario import build

READS: list[tuple[str, dict[str, Any]]] = [
    ("/views/pipeline", {}),
    ("/views/pipeline", {"owner_id": "rep-b"}),
    ("/views/forecast", {}),
    ("/views/stalled", {}),
    ("/views/funnel", {}),
    ("/views/win-loss", {"by": "cause"}),
    ("/views/win-loss", {"by": "competitor"}),
]


async def test_as_of_a_moment_equals_the_live_view_then(views) -> None:
    book = await build(views.desk)
    await views.catch_up()
    reads = [*READS, ("/views/time-in-stage", {"deal_id": str(book.d4)})]
    live = [await views.get(path, **params) for path, params in reads]

    later = datetime.now(UTC) + timedelta(days=1)
    desk = views.desk
    await desk.advance(book.d4, "negotiation", later)
    await desk.win(book.d6, later)
    await desk.lose(book.d3, later, LossCause.CUSTOMER_CANCELLED)
    await desk.do(book.d2, ReopenDeal, later, Role.MANAGER, "mgr-1", reason="new budget")
    await desk.do(book.d2, UpdateDeal, later + timedelta(hours=1), amount=Decimal(75000))
    await desk.open(later, owner="rep-b", close=date(2026, 12, 31))
    await views.catch_up()

    for (path, params), seen in zip(reads, live, strict=True):
        then = await views.get(path, **params, as_of=seen["as_of"])
        assert then == seen, (path, params)
    # ...and the live views did move on
    after = await views.get(
        "/views/win-loss", by="cause", as_of=(later + timedelta(days=1)).isoformat()
    )
    assert (after["totals"]["won"], after["totals"]["lost"]) == (2, 2)  # D2's loss retracted
