"""Time in stage per deal (latest and cumulative) and stalled deals, on the known book."""

from __future__ import annotations

from uuid import uuid4

from .desk import day
from .scenario import build

DAY = 86400.0


def cumulative(view: dict) -> list[tuple]:
    return [(c["stage"], c["visits"], c["days"], c["seconds"]) for c in view["cumulative"]]


async def test_time_in_stage_latest_and_cumulative(views) -> None:
    book = await build(views.desk)
    await views.catch_up()

    d4 = await views.get("/views/time-in-stage", deal_id=str(book.d4), as_of=day(16.5).isoformat())
    d5 = await views.get("/views/time-in-stage", deal_id=str(book.d5), as_of=day(20).isoformat())

    # D4: prospecting d2–4, initiation d4–6, proposal d6–8 and d11–14, tender d8–11 and d14–
    assert d4["latest"] | {"name": None, "name_zh": None} == {
        "stage": "tender",
        "name": None,
        "name_zh": None,
        "entered_at": day(14).isoformat().replace("+00:00", "Z"),
        "left_at": None,
        "current": True,
        "days": 2,  # floored, as on the deal
        "seconds": 2.5 * DAY,
    }
    assert cumulative(d4) == [
        ("prospecting", 1, 2, 2 * DAY),
        ("initiation", 1, 2, 2 * DAY),
        ("proposal", 2, 5, 5 * DAY),
        ("tender", 2, 5, 5.5 * DAY),
    ]
    # D5 was lost in prospecting on day 7: its last stay ended there
    assert (d5["latest"]["stage"], d5["latest"]["current"], d5["latest"]["days"]) == (
        "prospecting",
        False,
        4,
    )
    assert cumulative(d5) == [("prospecting", 1, 4, 4 * DAY)]


async def test_time_in_stage_of_an_unknown_deal_or_before_it_opened(views) -> None:
    book = await build(views.desk)
    await views.catch_up()

    for params in (
        {"deal_id": str(uuid4())},
        {"deal_id": str(book.d4), "as_of": day(1).isoformat()},
    ):
        response = await views.fetch("/views/time-in-stage", **params)
        assert response.status_code == 404
        assert response.json()["type"].endswith("/deal-not-found")


async def test_stalled_deals_oldest_first_with_touches_and_pages(views) -> None:
    book = await build(views.desk)
    await views.catch_up()
    as_of = day(40).isoformat()  # 14 Feb

    stalled = await views.get("/views/stalled", as_of=as_of)
    # D3 in proposal since day 4 (36 d > 30), D6 in negotiation since day 9 (31 d > 30);
    # D4 in tender since day 14 (26 d ≤ 45) is not stalled
    assert [
        (i["deal_id"], i["stage"], i["idle_days"], i["days_over_limit"]) for i in stalled["items"]
    ] == [
        (str(book.d3), "proposal", 36, 6),
        (str(book.d6), "negotiation", 31, 1),
    ]
    assert stalled["next"] is None

    first = await views.get("/views/stalled", as_of=as_of, limit=1)
    second = await views.get("/views/stalled", as_of=as_of, limit=1, cursor=first["next_cursor"])
    assert [i["deal_id"] for i in first["items"] + second["items"]] == [str(book.d3), str(book.d6)]
    assert second["next"] is None
    rep_b = await views.get("/views/stalled", as_of=as_of, owner_id="rep-b")
    assert [i["deal_id"] for i in rep_b["items"]] == [str(book.d6)]

    # touches on day 20 and day 70, from the accounts feed: as of day 40 the day-20
    # touch wakes D3 up (the later one does not hide it); as of day 15 neither had
    # happened yet
    await views.apply_accounts_feed(
        [
            {"type": "TouchLogged", "data": {"deal_id": str(book.d3), "occurred_at": at}}
            for at in (day(20).isoformat(), day(70).isoformat())
        ]
    )
    after_touch = await views.get("/views/stalled", as_of=as_of)
    assert [i["deal_id"] for i in after_touch["items"]] == [str(book.d6)]
    assert (await views.get("/views/stalled", as_of=day(15).isoformat()))["items"] == []
    # today every open deal of January has been idle for months
    live = await views.get("/views/stalled")
    assert {i["deal_id"] for i in live["items"]} == {str(book.d3), str(book.d4), str(book.d6)}
