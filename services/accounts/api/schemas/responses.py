"""Response bodies of the accounts API.

Timestamps are RFC 3339 UTC; decimals are strings; ``*_zh`` fields are Chinese labels.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.accounts.domain.enums import BuyingRole, Channel, Grade, RelationshipType, Scope, Tier


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ScoreOut(Out):
    dimension: str
    score: int


class AssessmentPublic(Out):
    scores: list[ScoreOut]
    overall: str = Field(description="mean score, two decimals")
    notes: str
    at: datetime


class AccountPublic(Out):
    id: UUID
    version: int
    name: str
    industry: str
    region: str
    scope: Scope
    owner_id: str
    grade: Grade | None
    grade_reason: str | None
    tier: Tier | None
    tier_reason: str | None
    relationship: RelationshipType
    last_assessment: AssessmentPublic | None
    archived: bool
    opened_at: datetime
    updated_at: datetime
    labels_zh: dict[str, str]


class AccountSummary(Out):
    id: UUID
    version: int
    name: str
    industry: str
    region: str
    scope: Scope
    owner_id: str
    grade: Grade | None
    tier: Tier | None
    relationship: RelationshipType
    assessment_overall: str | None
    archived: bool
    opened_at: datetime
    updated_at: datetime


class HeldRolePublic(Out):
    role: BuyingRole
    role_zh: str
    deal_id: UUID | None
    influence: int
    support: int
    support_zh: str
    assigned_at: datetime


class PersonalPublic(Out):
    email: str | None
    phone: str | None
    birthday: date | None
    hometown: str | None
    interests: list[str]
    family_notes: str | None


class ContactPublic(Out):
    id: UUID
    account_id: UUID
    version: int
    name: str
    title: str
    department: str
    roles: list[HeldRolePublic]
    left: bool
    personal_status: str = Field(
        description="present | none | erased | withheld (command responses never carry "
        "personal details, and auditors and services do not see them)"
    )
    personal: PersonalPublic | None
    added_at: datetime
    updated_at: datetime


class ContactSummary(Out):
    id: UUID
    account_id: UUID
    version: int
    name: str
    title: str
    department: str
    left: bool
    personal_erased: bool
    roles: list[dict[str, Any]]
    updated_at: datetime


class TouchPublic(Out):
    id: UUID
    version: int
    account_id: UUID
    contact_ids: list[UUID]
    channel: Channel
    channel_zh: str
    occurred_at: datetime
    summary: str
    deal_id: UUID | None
    next_step: str | None
    next_step_due: date | None
    logged_by: str
    logged_at: datetime


class HistoryEntry(Out):
    version: int
    event_id: UUID
    type: str
    schema_version: int
    data: dict[str, Any]
    actor: str | None
    role: str | None
    reason: str | None
    request_id: str | None
    recorded_at: datetime


class TimelineEntry(Out):
    id: UUID
    at: datetime
    kind: str = Field(description="touch | account | contact")
    type: str
    stream_id: str
    version: int
    actor: str | None
    details: dict[str, Any]


class CoverageRow(Out):
    account_id: UUID
    name: str
    owner_id: str
    region: str
    roles_covered: list[BuyingRole]
    roles_missing: list[BuyingRole]
    has_coach: bool
    last_touch_at: datetime | None
    days_since_touch: int | None
    last_economic_buyer_touch_at: datetime | None
    stale: bool = Field(description="no touch for 30+ days (or never)")
    touches: int


class Page(Out):
    next: str | None
    next_cursor: str | None


class AccountPage(Page):
    items: list[AccountSummary]


class ContactPage(Page):
    items: list[ContactSummary]


class HistoryPage(Page):
    items: list[HistoryEntry]


class TimelinePage(Page):
    items: list[TimelineEntry]


class CoveragePage(Page):
    items: list[CoverageRow]


class WeekActivity(Out):
    week: date = Field(description="Monday of the ISO week (UTC)")
    total: int
    by_channel: dict[str, int]


class OwnerActivity(Out):
    owner_id: str
    total: int
    by_channel: dict[str, int]
    weeks: list[WeekActivity]


class ActivityReport(Out):
    from_: date = Field(alias="from")
    to: date
    owner_id: str | None
    total: int
    owners: list[OwnerActivity]

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class WonTotalOut(Out):
    currency: str
    accounts: int = Field(description="accounts with a won deal in this currency")
    deals: int = Field(description="won deals (closed ones included)")
    value: str = Field(description="sum of their contract values, after change orders")


class SegmentOut(Out):
    accounts: int
    won: list[WonTotalOut] = Field(description="per currency; currencies are never added")


class GradeSegment(SegmentOut):
    grade: Grade | None = Field(description="null: not graded")


class TierSegment(SegmentOut):
    tier: Tier | None = Field(description="null: no tier set")


class GradeTierSegment(SegmentOut):
    grade: Grade | None
    tier: Tier | None


class ConcentrationOut(Out):
    currency: str
    accounts: int = Field(description="accounts with a won value above zero")
    top_accounts: int = Field(description="ceil(0.2 × accounts)")
    value: str
    top_value: str = Field(description="won value of the top accounts")
    top_share: str = Field(description="top_value / value, four decimals")


class AccountValueReport(Out):
    owner_id: str | None
    include_archived: bool
    accounts: int
    won: list[WonTotalOut]
    by_grade: list[GradeSegment]
    by_tier: list[TierSegment]
    by_grade_tier: list[GradeTierSegment]
    concentration: list[ConcentrationOut]
