"""The closed vocabularies of the accounts domain, with Chinese labels for presets and demos."""

from enum import StrEnum


class Grade(StrEnum):
    """Key-account grade (大客户分级), re-graded over time with a reason."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"


class Tier(StrEnum):
    """Value tier by contribution (the 20:80 rule)."""

    VIP = "vip"
    GROWTH = "growth"
    STANDARD = "standard"
    LOW_VALUE = "low_value"


class RelationshipType(StrEnum):
    GENERAL = "general"
    PARTNER = "partner"
    STRATEGIC = "strategic"


class Scope(StrEnum):
    NATIONAL = "national"
    REGIONAL = "regional"


class Channel(StrEnum):
    """How a contact touch happened."""

    VISIT = "visit"
    CALL = "call"
    MEETING = "meeting"
    DEMO = "demo"
    SITE_VISIT = "site_visit"
    EMAIL = "email"
    DINNER = "dinner"
    OTHER = "other"


class BuyingRole(StrEnum):
    """A contact's role in the buying center (购买影响者)."""

    ECONOMIC_BUYER = "economic_buyer"
    TECHNICAL_BUYER = "technical_buyer"
    USER_BUYER = "user_buyer"
    COACH = "coach"


class Role(StrEnum):
    """The role of whoever sends a command (from the bearer token)."""

    REP = "rep"
    MANAGER = "manager"
    AUDITOR = "auditor"
    ADMIN = "admin"
    SERVICE = "service"


ZH_LABELS: dict[type[StrEnum], dict[StrEnum, str]] = {
    Grade: {Grade.A: "A级客户", Grade.B: "B级客户", Grade.C: "C级客户", Grade.D: "D级客户"},
    Tier: {
        Tier.VIP: "VIP客户（最有价值）",
        Tier.GROWTH: "成长型客户（最具增长性）",
        Tier.STANDARD: "普通客户",
        Tier.LOW_VALUE: "低价值客户（负值）",
    },
    RelationshipType: {
        RelationshipType.GENERAL: "一般关系",
        RelationshipType.PARTNER: "伙伴式关系",
        RelationshipType.STRATEGIC: "战略性关系",
    },
    Scope: {Scope.NATIONAL: "全国性", Scope.REGIONAL: "区域性"},
    Channel: {
        Channel.VISIT: "拜访",
        Channel.CALL: "电话",
        Channel.MEETING: "会议",
        Channel.DEMO: "产品演示",
        Channel.SITE_VISIT: "现场考察",
        Channel.EMAIL: "邮件",
        Channel.DINNER: "宴请",
        Channel.OTHER: "其他",
    },
    BuyingRole: {
        BuyingRole.ECONOMIC_BUYER: "决策者",
        BuyingRole.TECHNICAL_BUYER: "技术把关者",
        BuyingRole.USER_BUYER: "用户",
        BuyingRole.COACH: "教练（内线）",
    },
    Role: {
        Role.REP: "销售代表",
        Role.MANAGER: "销售经理",
        Role.AUDITOR: "审计员",
        Role.ADMIN: "管理员",
        Role.SERVICE: "系统服务",
    },
}

# Support for us, −2 … +2 (opponent … champion).
SUPPORT_ZH_LABELS: dict[int, str] = {-2: "反对者", -1: "不支持", 0: "中立", 1: "支持", 2: "拥护者"}

# Suggested dimensions for the relationship assessment (客户关系评估表); free text is allowed.
ASSESSMENT_DIMENSIONS_ZH: dict[str, str] = {
    "trust": "信任度",
    "executive_access": "高层接触",
    "satisfaction": "满意度",
    "share_of_wallet": "份额占比",
    "coach_strength": "内线支持",
}


def label_zh(member: StrEnum) -> str:
    """The Chinese label of any member of the enums above."""
    return ZH_LABELS[type(member)][member]
