"""Shared givens for the accounts domain tests: ids, actors, and the usual first events."""

from datetime import UTC, datetime
from uuid import UUID

from services.accounts.domain import account, contact
from services.accounts.domain.assessment import DimensionScore
from services.accounts.domain.enums import Role, Scope
from services.accounts.domain.events import AccountArchived, AccountOpened, ContactAdded
from services.accounts.domain.personal import PersonalDetails

AT = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
ACCOUNT_ID = UUID(int=1)
OTHER_ACCOUNT_ID = UUID(int=2)
CONTACT_ID = UUID(int=11)
TOUCH_ID = UUID(int=21)
DEAL_ID = UUID(int=31)

OWNER = "rep-owner"
OTHER_REP = "rep-other"


def by(actor_id: str = OWNER, role: Role = Role.REP, at: datetime = AT) -> dict:
    """The actor fields of a command."""
    return {"actor_id": actor_id, "actor_role": role, "at": at}


OWNER_REP = by()
NON_OWNER_REP = by(OTHER_REP)
MANAGER = by("mgr-1", Role.MANAGER)
ADMIN = by("adm-1", Role.ADMIN)
AUDITOR = by("aud-1", Role.AUDITOR)
SERVICE = by("svc-import", Role.SERVICE)

ACCOUNT_OPENED = AccountOpened(
    account_id=ACCOUNT_ID,
    name="华东电力设计院",
    industry="能源",
    region="华东",
    scope=Scope.REGIONAL,
    owner_id=OWNER,
    at=AT,
)
ACCOUNT_ARCHIVED = AccountArchived(account_id=ACCOUNT_ID, reason="merged", at=AT)

PERSONAL = PersonalDetails(
    email="zhang.wei@example.cn",
    phone="+86 138 0000 0000",
    birthday=datetime(1975, 5, 4).date(),
    hometown="绍兴",
    interests=("围棋", "钓鱼"),
    family_notes="女儿今年高考",
)

CONTACT_ADDED = ContactAdded(
    contact_id=CONTACT_ID,
    account_id=ACCOUNT_ID,
    name="张伟",
    title="总工程师",
    department="技术部",
    personal=PERSONAL,
    at=AT,
)


SCORES = (
    DimensionScore(dimension="trust", score=4),
    DimensionScore(dimension="executive_access", score=5),
    DimensionScore(dimension="satisfaction", score=3),
)


def given_account(*events: object) -> account.Account:
    """An open account owned by OWNER, then ``events``."""
    return account.replay([ACCOUNT_OPENED, *events])


def given_contact(*events: object) -> contact.Contact:
    """A contact (with personal details) of ACCOUNT_ID, then ``events``."""
    return contact.replay([CONTACT_ADDED, *events])
