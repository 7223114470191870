"""The closed vocabularies of the deals domain and its small value types."""

from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from enum import StrEnum
from uuid import UUID

_frozen = dataclass(frozen=True, slots=True, kw_only=True)


class Role(StrEnum):
    """The role of whoever sends a command (from the bearer token)."""

    REP = "rep"
    MANAGER = "manager"
    AUDITOR = "auditor"
    ADMIN = "admin"
    SERVICE = "service"


class DealStatus(StrEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"
    CLOSED = "closed"


class ForecastCategory(StrEnum):
    PIPELINE = "pipeline"
    BEST_CASE = "best_case"
    COMMIT = "commit"
    CLOSED = "closed"
    OMITTED = "omitted"


class LossCause(StrEnum):
    NOT_SHORTLISTED = "not_shortlisted"  # 没有入围
    BID_LOST_PRICE = "bid_lost_price"  # 投标失败: 价格
    BID_LOST_TECHNICAL = "bid_lost_technical"  # 投标失败: 技术
    BID_LOST_RELATIONSHIP = "bid_lost_relationship"  # 投标失败: 关系
    NO_BID_MARGIN = "no_bid_margin"  # 成本过高, 不投标
    CUSTOMER_CANCELLED = "customer_cancelled"  # 客户取消或推迟
    LOST_TO_COMPETITOR = "lost_to_competitor"
    OTHER = "other"


class PricePosition(StrEnum):
    """A competitor's price against ours."""

    HIGHER = "higher"
    SIMILAR = "similar"
    LOWER = "lower"
    UNKNOWN = "unknown"


class QuoteStatus(StrEnum):
    """The status of one quote version.

    A version within the pipeline's limits is ``approved`` as soon as it is issued
    (no manager needed); one outside them starts ``pending_approval``.
    """

    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    REJECTED = "rejected"
    SENT = "sent"
    ACCEPTED = "accepted"
    SUPERSEDED = "superseded"


class StageMove(StrEnum):
    ADVANCE = "advance"  # forward one stage
    SKIP = "skip"  # forward past one or more stages (manager override)
    BACK = "back"  # backward any number of stages


@_frozen
class InitiationReport:
    """The 立项报告. Every field may be left out when submitted; the initiation gate
    needs all of them. Amounts are in the deal's currency."""

    project_name: str | None = None
    project_number: str | None = None
    customer_owner_contact_id: UUID | None = None
    estimated_contract_amount: Decimal | None = None
    estimated_gross_margin_pct: Decimal | None = None
    sales_expense_budget: Decimal | None = None
    project_category: str | None = None
    expected_signing_date: date | None = None

    def missing(self) -> tuple[str, ...]:
        """Names of the fields still empty, in form order."""
        return tuple(f.name for f in fields(self) if getattr(self, f.name) is None)

    @property
    def complete(self) -> bool:
        return not self.missing()


@_frozen
class Competitor:
    name: str
    strengths: str = ""
    weaknesses: str = ""
    price_position: PricePosition = PricePosition.UNKNOWN


def name_key(name: str) -> str:
    """How competitor names compare: case- and space-insensitive."""
    return " ".join(name.split()).casefold()
