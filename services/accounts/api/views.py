"""Views served from the read models: coverage, activity, won value, an account's timeline."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request

from services.accounts.domain.errors import InvalidCommandError, NotFoundError
from services.accounts.projections import activity, coverage, deal_values, timeline
from shared.http.auth import PrincipalDep
from shared.http.pagination import page

from . import paging, present
from .deps import PoolDep, StoreDep
from .schemas import AccountValueReport, ActivityReport, CoveragePage, SafeText, TimelinePage

router = APIRouter(tags=["views"])

Limit = Annotated[int, Query(ge=1, le=200)]
Owner = Annotated[SafeText | None, Query(max_length=200)]
MAX_ACTIVITY_DAYS = 731
Kind = Literal["touch", "account", "contact"]


@router.get("/accounts/{account_id}/timeline", response_model=TimelinePage)
async def account_timeline(
    account_id: UUID,
    request: Request,
    principal: PrincipalDep,
    store: StoreDep,
    pool: PoolDep,
    kind: Annotated[list[Kind] | None, Query(description="only these kinds")] = None,
    cursor: str | None = None,
    limit: Limit = 50,
) -> dict:
    """Touches and account/contact changes, newest first (by when they happened)."""
    before = paging.decode(cursor, (paging.instant, paging.uuid))
    items, last = await timeline.page(pool, account_id, kind, before, limit)
    if not items and before is None and not await store.stream_version(str(account_id)):
        raise NotFoundError(f"account {account_id} not found")
    return page(items, request, paging.encode(last))


@router.get("/views/coverage", response_model=CoveragePage)
async def coverage_view(
    request: Request,
    principal: PrincipalDep,
    pool: PoolDep,
    owner_id: Owner = None,
    cursor: str | None = None,
    limit: Limit = 50,
) -> dict:
    """Per account: which buying roles have a contact, whether a coach exists, the last
    touch with the economic buyer and days since any touch — accounts with no touch for
    30+ days (or never) first."""
    after = paging.decode(cursor, (paging.instant, paging.uuid))
    items, last = await coverage.page(pool, owner_id, after, limit)
    return page(items, request, paging.encode(last))


@router.get("/views/activity", response_model=ActivityReport)
async def activity_view(
    principal: PrincipalDep,
    pool: PoolDep,
    owner_id: Owner = None,
    start: Annotated[date | None, Query(alias="from", description="first day (UTC)")] = None,
    end: Annotated[date | None, Query(alias="to", description="last day (UTC), inclusive")] = None,
) -> dict:
    """Touches per owner (the rep who had them), per channel and per ISO week. Defaults to
    the twelve weeks up to today."""
    end = end or datetime.now(UTC).date()
    try:
        start = start or end - timedelta(weeks=12) + timedelta(days=1)
    except OverflowError:
        raise InvalidCommandError("'to' is too early", field="to") from None
    if start > end:
        raise InvalidCommandError("'from' is after 'to'", field="from")
    if (end - start).days >= MAX_ACTIVITY_DAYS:
        raise InvalidCommandError(f"at most {MAX_ACTIVITY_DAYS} days at once", field="from")
    return await activity.report(pool, owner_id, start, end)


@router.get("/views/accounts", response_model=AccountValueReport)
async def accounts_view(
    principal: PrincipalDep,
    pool: PoolDep,
    owner_id: Owner = None,
    include_archived: Annotated[
        bool, Query(description="count archived accounts and what they won too")
    ] = False,
) -> dict:
    """Accounts and the contract value they won, by grade, by tier and by grade × tier,
    per currency (currencies are never added together), with the 20:80 figure (二八法则).

    Won value: the contract value of every won deal (closed deals included, after
    change orders), as the deals feed reports it; a lost deal counts nothing, and one
    reopened after its loss only once it is won. Accounts are grouped by their current
    grade and tier (``null``: not set). Archived accounts, and what they won, are left
    out unless ``include_archived=true``.

    20:80, per currency: of the *n* accounts with a won value above zero in that
    currency, the top ``ceil(0.2 × n)`` by won value, and the share of the currency's
    won value they bring (``top_share``, four decimals). Accounts without a win do not
    count in *n*. The view follows the deals service and may trail it by moments."""
    report = await deal_values.value_report(
        pool, owner_id=owner_id, include_archived=include_archived
    )
    return present.value_report(report, owner_id=owner_id, include_archived=include_archived)
