"""Time in stage (latest visit and cumulative) and stalled deals."""

from datetime import timedelta

from services.deals.domain import (
    cumulative_days_by_stage,
    cumulative_time_by_stage,
    days_in_stage,
    get_pipeline,
    is_stalled,
    time_in_stage,
)

from .builders import OPENED, Story, day, given, lost_story

KEY_ACCOUNT = get_pipeline("key-account")


def bouncing() -> Story:
    """prospecting day 0–2, initiation day 2–3, back to prospecting day 3–5, initiation from 5."""
    story = Story().open()  # day 0
    story.report()  # day 1
    story.to("initiation")  # day 2
    story.to("prospecting", reason="项目暂缓")  # day 3
    story.clock = 5
    story.to("initiation")  # day 5
    return story


def test_days_in_stage_counts_the_latest_visit():
    deal = bouncing().state
    assert days_in_stage(deal, day(12.5)) == 7
    assert time_in_stage(deal, day(12.5)) == timedelta(days=7.5)


def test_cumulative_days_add_every_visit():
    deal = bouncing().state
    assert cumulative_days_by_stage(deal, day(12)) == {"prospecting": 4, "initiation": 8}
    assert cumulative_time_by_stage(deal, day(12))["initiation"] == timedelta(days=8)


def test_an_ended_deal_stops_the_clock():
    deal = lost_story("initiation").state  # entered initiation day 2, lost day 3
    assert days_in_stage(deal, day(50)) == 1
    assert cumulative_days_by_stage(deal, day(50))["initiation"] == 1


def test_a_deal_is_stalled_after_its_stage_limit_without_a_stage_change():
    deal = given(OPENED)  # prospecting: 30 days
    assert not is_stalled(deal, KEY_ACCOUNT, day(30))
    assert is_stalled(deal, KEY_ACCOUNT, day(30.01))


def test_a_touch_keeps_a_deal_from_stalling():
    deal = given(OPENED)
    assert not is_stalled(deal, KEY_ACCOUNT, day(40), last_touch_at=day(20))
    assert is_stalled(deal, KEY_ACCOUNT, day(51), last_touch_at=day(20))


def test_a_touch_older_than_the_stage_change_does_not_count():
    deal = bouncing().state  # initiation since day 5 (limit 21)
    assert not is_stalled(deal, KEY_ACCOUNT, day(26), last_touch_at=day(1))
    assert is_stalled(deal, KEY_ACCOUNT, day(26.5), last_touch_at=day(1))


def test_ended_deals_never_stall():
    assert not is_stalled(lost_story().state, KEY_ACCOUNT, day(400))
