"""Competitors on a deal, keyed by name (case- and space-insensitive)."""

import pytest

from services.deals.domain import (
    AddCompetitor,
    CompetitorAdded,
    CompetitorNotFoundError,
    CompetitorRemoved,
    CompetitorUpdated,
    InvalidCommandError,
    PricePosition,
    RemoveCompetitor,
    decide,
)

from .builders import DEAL_ID, LATER, OPENED, cmd, given

ADDED = CompetitorAdded(
    deal_id=DEAL_ID,
    name="许继电气",
    strengths="本地服务网点多",
    weaknesses="软件平台老旧",
    price_position=PricePosition.LOWER,
    at=LATER,
)


def add(**fields: object) -> AddCompetitor:
    values = {
        "name": " 许继电气 ",
        "strengths": "本地服务网点多",
        "weaknesses": "软件平台老旧",
        "price_position": PricePosition.LOWER,
    }
    return cmd(AddCompetitor, **(values | fields))


def test_add_a_competitor():
    assert decide(given(OPENED), add()) == [ADDED]
    deal = given(OPENED, ADDED)
    assert deal.competitor("许继电气").price_position is PricePosition.LOWER


def test_adding_the_same_name_updates_it():
    events = decide(given(OPENED, ADDED), add(price_position=PricePosition.SIMILAR))
    assert [type(e) for e in events] == [CompetitorUpdated]
    deal = given(OPENED, ADDED, *events)
    assert len(deal.competitors) == 1
    assert deal.competitors[0].price_position is PricePosition.SIMILAR


def test_adding_it_again_unchanged_records_nothing():
    assert decide(given(OPENED, ADDED), add()) == []


def test_a_competitor_needs_a_name():
    with pytest.raises(InvalidCommandError):
        decide(given(OPENED), add(name="  "))


def test_remove_a_competitor_by_name():
    events = decide(given(OPENED, ADDED), cmd(RemoveCompetitor, name="许继电气"))
    assert events == [CompetitorRemoved(deal_id=DEAL_ID, name="许继电气", at=LATER)]
    assert given(OPENED, ADDED, *events).competitors == ()


def test_names_compare_without_case_and_spaces():
    added = CompetitorAdded(
        deal_id=DEAL_ID,
        name="ABB  China",
        strengths="",
        weaknesses="",
        price_position=PricePosition.HIGHER,
        at=LATER,
    )
    [event] = decide(given(OPENED, added), cmd(RemoveCompetitor, name="abb china"))
    assert event.name == "ABB  China"


def test_removing_an_unknown_competitor():
    with pytest.raises(CompetitorNotFoundError) as err:
        decide(given(OPENED), cmd(RemoveCompetitor, name="Siemens"))
    assert (err.value.code, err.value.status) == ("competitor-not-found", 404)
