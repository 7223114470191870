"""Domain state and stored events → response bodies (JSON-ready dicts)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import Request

from services.accounts.domain.account import Account
from services.accounts.domain.contact import Contact
from services.accounts.domain.enums import SUPPORT_ZH_LABELS, label_zh
from services.accounts.domain.touch import Touch
from services.accounts.domain.won_value import Segment, WonValueReport
from services.accounts.sealing import shown_personal
from shared.eventstore import RecordedEvent
from shared.http.auth import Principal, Role
from shared.http.pagination import page
from shared.serde import to_data

from . import paging
from .schemas import AccountPublic, AccountValueReport, ContactPublic, HistoryEntry, TouchPublic

# Who sees a contact's personal details on GET /contacts/{id}; history shows them
# only to supervisors (the audit trail of past values is theirs to review).
READS_PERSONAL = frozenset({Role.REP, Role.MANAGER, Role.ADMIN})
READS_PERSONAL_HISTORY = frozenset({Role.MANAGER, Role.ADMIN})
CENT = Decimal("0.01")


def account_public(state: Account, version: int) -> dict[str, Any]:
    labels = {"scope": label_zh(state.scope), "relationship": label_zh(state.relationship)}
    if state.grade is not None:
        labels["grade"] = label_zh(state.grade)
    if state.tier is not None:
        labels["tier"] = label_zh(state.tier)
    body = {**to_data(state), "version": version, "labels_zh": labels}
    return AccountPublic.model_validate(body).model_dump(mode="json")


def contact_public(
    state: Contact, version: int, *, show_personal: bool = False, erased: bool = False
) -> dict[str, Any]:
    """A contact; personal details only when ``show_personal`` (never in command replies)."""
    data = to_data(state)
    roles = [
        {
            **role,
            "role_zh": label_zh(held.role),
            "support_zh": SUPPORT_ZH_LABELS[held.support],
        }
        for held, role in zip(state.roles, data["roles"], strict=True)
    ]
    if erased or state.personal_erased:
        status, personal = "erased", None
    elif not show_personal:
        status, personal = "withheld", None
    elif state.personal is None:
        status, personal = "none", None
    else:
        status, personal = "present", data["personal"]
    body = {
        **data,
        "version": version,
        "roles": roles,
        "personal_status": status,
        "personal": personal,
    }
    return ContactPublic.model_validate(body).model_dump(mode="json")


def touch_public(state: Touch, version: int) -> dict[str, Any]:
    body = {**to_data(state), "version": version, "channel_zh": label_zh(state.channel)}
    return TouchPublic.model_validate(body).model_dump(mode="json")


def history_entry(
    event: RecordedEvent, principal: Principal, key: bytes | None = None
) -> dict[str, Any]:
    """One stored event for a reader of the history; personal details sealed unless a
    supervisor reads them while the contact's key exists."""
    meta = event.metadata or {}
    data = shown_personal(event.data, key, may_read=principal.role in READS_PERSONAL_HISTORY)
    return HistoryEntry(
        version=event.version,
        event_id=event.event_id,
        type=event.type,
        schema_version=event.schema_version,
        data=data,
        actor=meta.get("actor"),
        role=meta.get("role"),
        reason=meta.get("reason"),
        request_id=meta.get("request_id"),
        recorded_at=event.recorded_at,
    ).model_dump(mode="json")


def history_page(
    events: list[RecordedEvent],
    request: Request,
    principal: Principal,
    cursor: str | None,
    limit: int,
    key: bytes | None = None,
) -> dict[str, Any]:
    """A page of a stream's history, oldest first; the cursor is the last version shown."""
    (after,) = paging.decode(cursor, (paging.number,)) or (0,)
    chunk = [e for e in events if e.version > after][:limit]
    more = bool(chunk) and chunk[-1].version < events[-1].version
    items = [history_entry(e, principal, key) for e in chunk]
    return page(items, request, paging.encode([chunk[-1].version]) if more else None)


def value_report(
    report: WonValueReport, *, owner_id: str | None, include_archived: bool
) -> dict[str, Any]:
    """The accounts view: segments as lists, money as decimal strings with cents."""
    body = {
        "owner_id": owner_id,
        "include_archived": include_archived,
        **_segment(report.overall),
        "by_grade": [{"grade": g, **_segment(s)} for g, s in report.by_grade],
        "by_tier": [{"tier": t, **_segment(s)} for t, s in report.by_tier],
        "by_grade_tier": [
            {"grade": g, "tier": t, **_segment(s)} for g, t, s in report.by_grade_tier
        ],
        "concentration": [
            {
                **to_data(c),
                "value": _money(c.value),
                "top_value": _money(c.top_value),
                "top_share": str(c.top_share),
            }
            for c in report.concentration
        ],
    }
    return AccountValueReport.model_validate(body).model_dump(mode="json")


def _segment(segment: Segment) -> dict[str, Any]:
    won = [{**to_data(w), "value": _money(w.value)} for w in segment.won]
    return {"accounts": segment.accounts, "won": won}


def _money(value: Decimal) -> str:
    return str(value.quantize(CENT))
