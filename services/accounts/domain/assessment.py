"""The relationship assessment (客户关系评估表): dimensions scored 1–5, and their mean."""

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from . import checks
from .errors import InvalidCommandError

SCORE_MIN, SCORE_MAX = 1, 5
MAX_DIMENSIONS = 20


@dataclass(frozen=True, slots=True, kw_only=True)
class DimensionScore:
    """One line of an assessment: a dimension (free text, see ASSESSMENT_DIMENSIONS_ZH)
    and its score."""

    dimension: str
    score: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Assessment:
    """The latest assessment, as kept in the account state."""

    scores: tuple[DimensionScore, ...]
    overall: Decimal
    notes: str
    at: datetime


def valid_scores(scores: tuple[DimensionScore, ...]) -> tuple[DimensionScore, ...]:
    """The lines trimmed; at least one, each 1–5, no dimension twice (case-insensitive)."""
    if not scores:
        raise InvalidCommandError("an assessment needs at least one dimension", field="scores")
    if len(scores) > MAX_DIMENSIONS:
        raise InvalidCommandError(f"at most {MAX_DIMENSIONS} dimensions", field="scores")
    lines = tuple(
        DimensionScore(
            dimension=checks.required_text(line.dimension, "dimension"),
            score=checks.in_range(line.score, SCORE_MIN, SCORE_MAX, "score"),
        )
        for line in scores
    )
    checks.no_duplicates((line.dimension.casefold() for line in lines), "scores")
    return lines


def overall_score(scores: tuple[DimensionScore, ...]) -> Decimal:
    """Mean of the scores to two decimals, half up (Decimal, never float)."""
    total = Decimal(sum(line.score for line in scores))
    return (total / len(scores)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
