"""Pipelines are data: the three presets, and what a definition must satisfy."""

from dataclasses import replace
from decimal import Decimal

import pytest

from services.deals.domain import (
    DEFAULT_PIPELINE,
    PRESETS,
    ForecastCategory,
    GateRequirement,
    InvalidPipelineError,
    UnknownPipelineError,
    UnknownStageError,
    get_pipeline,
    removed_stages,
)


def test_key_account_is_the_default_six_stage_pipeline():
    p = get_pipeline(DEFAULT_PIPELINE)
    assert p.code == "key-account"
    assert [(s.code, s.probability) for s in p.stages] == [
        ("prospecting", 10),
        ("initiation", 20),
        ("proposal", 40),
        ("tender", 60),
        ("negotiation", 80),
        ("implementation", 100),
    ]
    assert [s.name_zh for s in p.stages] == [
        "客户开发",
        "立项",
        "提案",
        "招投标",
        "商务谈判",
        "工程实施",
    ]
    assert (p.won_stage, p.win_from.code) == ("implementation", "negotiation")
    assert p.stage("initiation").gates == (GateRequirement.INITIATION_REPORT,)
    assert p.stage("tender").gates == (GateRequirement.QUOTE_APPROVED_OR_SENT,)
    assert p.stage("negotiation").gates == (GateRequirement.QUOTE_SENT,)
    assert p.stage("implementation").gates == (GateRequirement.QUOTE_ACCEPTED,)
    assert p.stage("negotiation").forecast_category is ForecastCategory.COMMIT
    assert (p.max_discount_pct, p.min_margin_pct) == (Decimal(15), Decimal(20))


def test_the_other_presets():
    assert set(PRESETS) == {"key-account", "customer-development", "showroom"}
    assert len(get_pipeline("customer-development").stages) == 5
    showroom = get_pipeline("showroom")
    assert len(showroom.stages) == 9
    assert showroom.won_stage == "deal"
    assert showroom.is_won_side("follow_up") and not showroom.is_won_side("test_drive")


def test_every_stage_has_a_name_a_chinese_name_and_a_stall_limit():
    for p in PRESETS.values():
        for s in p.stages:
            assert s.name and s.name_zh and s.stall_limit_days
            assert Decimal(0) <= s.probability <= Decimal(100)


def test_unknown_pipeline_and_stage():
    with pytest.raises(UnknownPipelineError):
        get_pipeline("nope")
    with pytest.raises(UnknownStageError):
        get_pipeline("key-account").stage("nope")


@pytest.mark.parametrize(
    "change",
    [
        lambda p: replace(p, stages=(*p.stages, p.stages[0])),
        lambda p: replace(p, won_stage=p.stages[0].code),
        lambda p: replace(p, won_stage="nowhere"),
        lambda p: replace(p, stages=p.stages[:1], won_stage=p.stages[0].code),
        lambda p: replace(p, max_discount_pct=Decimal(120)),
        lambda p: replace(p, stages=(replace(p.stages[0], probability=Decimal(-1)), *p.stages[1:])),
        lambda p: replace(p, stages=(replace(p.stages[0], stall_limit_days=0), *p.stages[1:])),
    ],
)
def test_validate_refuses_definitions_that_cannot_work(change):
    with pytest.raises(InvalidPipelineError) as err:
        change(get_pipeline("key-account")).validate()
    assert (err.value.code, err.value.status) == ("invalid-pipeline", 422)


def test_a_pipeline_may_gain_stages_but_not_lose_one():
    old = get_pipeline("customer-development")
    extra = replace(old.stages[0], code="referral", name="Referral")
    assert removed_stages(old, replace(old, stages=(extra, *old.stages))) == ()
    assert removed_stages(old, replace(old, stages=old.stages[1:])) == ("identify_target",)
