"""Request bodies of the accounts API.

Every body forbids unknown fields and refuses text PostgreSQL cannot store
(NUL, lone surrogates) with a 422. Content rules (blank names, ranges, limits)
are the domain's and come back as ``invalid-command`` problems.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from pydantic import Field

from services.accounts.domain.assessment import DimensionScore
from services.accounts.domain.enums import BuyingRole, Channel, Grade, RelationshipType, Scope, Tier
from services.accounts.domain.personal import PersonalDetails
from shared.http.fields import Body, Instant

Short = Annotated[str, Field(max_length=1000)]
Long = Annotated[str, Field(max_length=20_000)]


# --- accounts ----------------------------------------------------------------------------


class AccountCreate(Body):
    name: Short
    region: Short
    industry: Short = ""
    scope: Scope = Scope.REGIONAL
    owner_id: Short | None = Field(None, description="default: the caller")


class AccountUpdate(Body):
    """Only the fields given change; changing the owner needs a manager or admin."""

    name: Short | None = None
    industry: Short | None = None
    region: Short | None = None
    scope: Scope | None = None
    owner_id: Short | None = None


class GradeUpdate(Body):
    grade: Grade
    reason: Long


class TierUpdate(Body):
    tier: Tier
    reason: Long


class RelationshipUpdate(Body):
    relationship: RelationshipType
    reason: Long | None = None


class ScoreLine(Body):
    dimension: Short = Field(description="e.g. trust, executive_access, satisfaction")
    score: int = Field(description="1–5")

    def to_domain(self) -> DimensionScore:
        return DimensionScore(dimension=self.dimension, score=self.score)


class AssessmentCreate(Body):
    """A relationship assessment (客户关系评估表): each dimension scored 1–5."""

    scores: list[ScoreLine] = Field(max_length=100)
    notes: Long = ""


class AccountArchive(Body):
    reason: Long | None = None


# --- contacts ----------------------------------------------------------------------------


class PersonalIn(Body):
    """Personal details: encrypted with the contact's own key before they are stored."""

    email: Short | None = None
    phone: Short | None = None
    birthday: date | None = None
    hometown: Short | None = None
    interests: list[Short] = Field(default_factory=list, max_length=100)
    family_notes: Long | None = None

    def to_domain(self) -> PersonalDetails:
        return PersonalDetails(
            email=self.email,
            phone=self.phone,
            birthday=self.birthday,
            hometown=self.hometown,
            interests=tuple(self.interests),
            family_notes=self.family_notes,
        )


class ContactCreate(Body):
    name: Short
    title: Short = ""
    department: Short = ""
    personal: PersonalIn | None = None


class ContactUpdate(Body):
    """Only the fields given change; ``personal`` replaces the details whole (``{}`` clears)."""

    name: Short | None = None
    title: Short | None = None
    department: Short | None = None
    personal: PersonalIn | None = None


class BuyingRoleCreate(Body):
    """One assignment per (role, deal); assigning again replaces influence and support."""

    role: BuyingRole
    deal_id: UUID | None = None
    influence: int = Field(description="1–5")
    support: int = Field(description="−2 (opponent) … +2 (champion)")


# --- touches -----------------------------------------------------------------------------


class TouchCreate(Body):
    """A contact touch (客户接触记录); whoever logs it is the one who had it."""

    account_id: UUID
    contact_ids: list[UUID] = Field(min_length=1, max_length=50)
    channel: Channel
    occurred_at: Instant
    summary: Long
    deal_id: UUID | None = None
    next_step: Long | None = None
    next_step_due: date | None = None
