"""Pipelines are data: stages with probabilities, stall limits and gates, plus quote limits.

A pipeline's stages run in order. One of them is the *won stage*: a deal enters it
only by being won (``WinDeal``, from the stage just before it); the stages after it
(delivery, follow-up …) belong to won deals. Gates are checked when a deal enters a
stage forward; the won stage's gates are checked when the deal is won.
"""

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from .errors import InvalidPipelineError, UnknownPipelineError, UnknownStageError
from .values import ForecastCategory

_frozen = dataclass(frozen=True, slots=True, kw_only=True)
_PIPELINE, _BEST, _COMMIT, _CLOSED = (
    ForecastCategory.PIPELINE,
    ForecastCategory.BEST_CASE,
    ForecastCategory.COMMIT,
    ForecastCategory.CLOSED,
)


class GateRequirement(StrEnum):
    """What a deal must have to enter a stage."""

    INITIATION_REPORT = "initiation_report"  # a complete 立项报告
    QUOTE_APPROVED_OR_SENT = "quote_approved_or_sent"
    QUOTE_SENT = "quote_sent"
    QUOTE_ACCEPTED = "quote_accepted"


@_frozen
class Stage:
    code: str
    name: str
    name_zh: str
    probability: Decimal  # default win probability, percent
    forecast_category: ForecastCategory  # default forecast category
    stall_limit_days: int | None  # None: never stalls
    gates: tuple[GateRequirement, ...] = ()


@_frozen
class Pipeline:
    code: str
    name: str
    name_zh: str
    stages: tuple[Stage, ...]
    won_stage: str
    max_discount_pct: Decimal  # a quote line discounted more needs approval
    min_margin_pct: Decimal  # a quote whose gross margin is lower needs approval

    def stage(self, code: str) -> Stage:
        return self.stages[self.index(code)]

    def index(self, code: str) -> int:
        for i, stage in enumerate(self.stages):
            if stage.code == code:
                return i
        raise UnknownStageError(
            f"pipeline {self.code!r} has no stage {code!r}", stage=code, pipeline=self.code
        )

    @property
    def first(self) -> Stage:
        return self.stages[0]

    @property
    def won_index(self) -> int:
        return self.index(self.won_stage)

    @property
    def win_from(self) -> Stage:
        """The only stage a deal can be won from (negotiation in ``key-account``)."""
        return self.stages[self.won_index - 1]

    def is_won_side(self, code: str) -> bool:
        """True for the won stage and the stages after it."""
        return self.index(code) >= self.won_index

    def validate(self) -> "Pipeline":
        """Refuse a definition that cannot work; returns the pipeline for chaining."""
        codes = [s.code for s in self.stages]
        problems: list[str] = []
        if len(codes) < 2:
            problems.append("a pipeline needs at least two stages")
        if not self.code.strip():
            problems.append("the pipeline code is blank")
        if len(set(codes)) != len(codes):
            problems.append("stage codes repeat")
        if any(not c.strip() for c in codes):
            problems.append("a stage code is blank")
        if self.won_stage not in codes[1:]:
            problems.append("the won stage must be one of the stages, after the first")
        for s in self.stages:
            if not Decimal(0) <= s.probability <= Decimal(100):
                problems.append(f"stage {s.code!r}: probability outside 0…100")
            if s.stall_limit_days is not None and s.stall_limit_days <= 0:
                problems.append(f"stage {s.code!r}: stall limit must be positive")
        if not Decimal(0) <= self.max_discount_pct <= Decimal(100):
            problems.append("max discount outside 0…100")
        if self.min_margin_pct > Decimal(100):
            problems.append("min margin above 100")
        if problems:
            raise InvalidPipelineError(
                f"pipeline {self.code!r} is invalid: {'; '.join(problems)}", problems=problems
            )
        return self


def removed_stages(old: Pipeline, new: Pipeline) -> tuple[str, ...]:
    """Stage codes of ``old`` missing from ``new`` — a pipeline in use may gain stages
    but never lose one (the admin handler refuses a redefinition when this is not empty)."""
    kept = {s.code for s in new.stages}
    return tuple(s.code for s in old.stages if s.code not in kept)


def _stage(
    code: str,
    name: str,
    zh: str,
    pct: int,
    category: ForecastCategory,
    stall: int | None,
    *gates: GateRequirement,
) -> Stage:
    return Stage(
        code=code,
        name=name,
        name_zh=zh,
        probability=Decimal(pct),
        forecast_category=category,
        stall_limit_days=stall,
        gates=tuple(gates),
    )


G = GateRequirement
KEY_ACCOUNT = Pipeline(
    code="key-account",
    name="Key-account sale",
    name_zh="大客户销售流程",
    stages=(
        _stage("prospecting", "Customer development", "客户开发", 10, _PIPELINE, 30),
        _stage("initiation", "Project initiation", "立项", 20, _PIPELINE, 21, G.INITIATION_REPORT),
        _stage("proposal", "Proposal", "提案", 40, _PIPELINE, 30),
        _stage("tender", "Tender / bidding", "招投标", 60, _BEST, 45, G.QUOTE_APPROVED_OR_SENT),
        _stage("negotiation", "Commercial negotiation", "商务谈判", 80, _COMMIT, 30, G.QUOTE_SENT),
        _stage("implementation", "Implementation", "工程实施", 100, _CLOSED, 90, G.QUOTE_ACCEPTED),
    ),
    won_stage="implementation",
    max_discount_pct=Decimal(15),
    min_margin_pct=Decimal(20),
)

CUSTOMER_DEVELOPMENT = Pipeline(
    code="customer-development",
    name="Customer development",
    name_zh="客户开发流程",
    stages=(
        _stage("identify_target", "Identify target", "确定开发对象", 5, _PIPELINE, 30),
        _stage(
            "samples_information", "Samples & information", "样品提供/信息收集", 20, _PIPELINE, 30
        ),
        _stage("value_assessment", "Value assessment", "价值评估", 40, _PIPELINE, 30),
        _stage("relationship_building", "Relationship building", "关系建立", 70, _BEST, 45),
        _stage("close_cooperation", "Close cooperation", "促成合作", 100, _CLOSED, 60),
    ),
    won_stage="close_cooperation",
    max_discount_pct=Decimal(20),
    min_margin_pct=Decimal(15),
)

SHOWROOM = Pipeline(
    code="showroom",
    name="Nine-step showroom sale",
    name_zh="销售九大流程",
    stages=(
        _stage("development", "Customer development", "客户开发", 5, _PIPELINE, 14),
        _stage("reception", "Reception", "展厅接待", 10, _PIPELINE, 3),
        _stage("consultation", "Needs consultation", "需求咨询", 20, _PIPELINE, 3),
        _stage("presentation", "Product presentation", "产品介绍", 30, _PIPELINE, 5),
        _stage("test_drive", "Test drive", "试乘试驾", 50, _BEST, 7),
        _stage("negotiation", "Negotiation", "报价谈判", 70, _COMMIT, 7),
        _stage("deal", "Deal", "成交", 100, _CLOSED, 7),
        _stage("delivery", "Delivery", "交车", 100, _CLOSED, 14),
        _stage("follow_up", "Follow-up", "售后跟踪", 100, _CLOSED, 30),
    ),
    won_stage="deal",
    max_discount_pct=Decimal(10),
    min_margin_pct=Decimal(8),
)

DEFAULT_PIPELINE = KEY_ACCOUNT.code
PRESETS: dict[str, Pipeline] = {
    p.code: p.validate() for p in (KEY_ACCOUNT, CUSTOMER_DEVELOPMENT, SHOWROOM)
}


def get_pipeline(code: str) -> Pipeline:
    """A preset by code (custom pipelines are loaded by the handler and passed in)."""
    try:
        return PRESETS[code]
    except KeyError:
        raise UnknownPipelineError(f"no pipeline {code!r}", pipeline=code) from None
