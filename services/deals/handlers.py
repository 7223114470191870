"""Load → decide → append for the deals service: deals and admin-defined pipelines.

Every command takes the shared path, :func:`shared.http.commands.execute`, with a
:class:`~services.deals.repository.DealRepository` that loads the deal with its
pipeline (and keeps recent states in a :class:`~services.deals.repository.StateCache`).
Opening a deal also checks the account against the local account directory (filled
from the accounts feed); the check runs inside ``decide`` with the row read
beforehand, so an idempotent retry is still answered with its first response.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
from fastapi.responses import JSONResponse

from services.deals import catalog
from services.deals.domain import (
    PRESETS,
    STREAM_TYPE,
    Deal,
    DealNotFoundError,
    OpenDeal,
    Pipeline,
    Role,
)
from services.deals.errors import (
    AccountArchivedError,
    PipelineExistsError,
    PipelineNotFoundError,
    UnknownAccountError,
)
from services.deals.projections import deal_list, directory
from services.deals.repository import (
    AGGREGATES,
    DEAL,
    PIPELINE,
    DealRepository,
    StateCache,
    find_pipeline,
    load_pipeline,
)
from shared.aggregates import Loaded, Repository
from shared.eventstore import EventStore, RecordedEvent
from shared.http.commands import CommandContext, Reply, execute

__all__ = ["AGGREGATES", "DEAL", "PIPELINE", "StateCache", "find_pipeline", "load_pipeline"]

Respond = Callable[[Any, int], Reply]


# --- pipelines ---------------------------------------------------------------------------


async def define_pipeline(
    store: EventStore, ctx: CommandContext, command: catalog.DefinePipeline, respond: Respond
) -> JSONResponse:
    sid = catalog.stream_id(command.pipeline.code)
    return await execute(Repository(store, PIPELINE), sid, ctx, command, respond, create=True)


async def revise_pipeline(
    store: EventStore,
    pool: asyncpg.Pool,
    ctx: CommandContext,
    pipeline: Pipeline,
    respond: Respond,
) -> JSONResponse:
    """Replace a definition; whether deals use the pipeline decides what may change."""
    if pipeline.code in PRESETS:
        raise PipelineExistsError(f"{pipeline.code!r} is a preset and read-only")
    in_use = await deal_list.pipeline_in_use(pool, pipeline.code)
    command = catalog.RevisePipeline(pipeline=pipeline, in_use=in_use, **actor_fields(ctx, store))
    return await execute(
        Repository(store, PIPELINE),
        catalog.stream_id(pipeline.code),
        ctx,
        command,
        respond,
        not_found=lambda: PipelineNotFoundError(f"no pipeline {pipeline.code!r}"),
    )


# --- deals -------------------------------------------------------------------------------


async def open_deal(
    store: EventStore,
    pool: asyncpg.Pool,
    ctx: CommandContext,
    command: OpenDeal,
    respond: Respond,
    states: StateCache | None = None,
) -> JSONResponse:
    """Open a deal on a known pipeline for an account the directory knows and is active."""
    account = await directory.account(pool, command.account_id)
    pipeline = await find_pipeline(store, command.pipeline)

    def check(cmd: OpenDeal) -> None:
        if account is None:
            raise UnknownAccountError(
                f"account {cmd.account_id} is not known (yet) to the deals service",
                field="account_id",
                account_id=str(cmd.account_id),
            )
        if account.archived:
            raise AccountArchivedError(f"account {cmd.account_id} is archived", field="account_id")

    repo = DealRepository(store, pipeline=pipeline, check=check, states=states)
    return await execute(repo, str(command.deal_id), ctx, command, respond, create=True)


async def deal_command(
    store: EventStore,
    ctx: CommandContext,
    deal_id: UUID,
    command: Any,
    respond: Respond,
    states: StateCache | None = None,
) -> JSONResponse:
    """Any command on an existing deal (If-Match required)."""
    return await execute(
        DealRepository(store, states=states),
        str(deal_id),
        ctx,
        command,
        respond,
        not_found=lambda: DealNotFoundError(f"deal {deal_id} not found", deal_id=str(deal_id)),
    )


async def read_deal(
    store: EventStore,
    deal_id: UUID,
    *,
    version: int | None = None,
    as_of: datetime | None = None,
    states: StateCache | None = None,
) -> tuple[Loaded[Deal], Pipeline]:
    """The deal (up to ``version`` / ``as_of``) and its pipeline; 404 if it did not exist."""
    repo = DealRepository(store, states=states)
    loaded = await repo.load(str(deal_id), to_version=version, as_of=as_of)
    if loaded.version == 0:
        when = " at that moment" if as_of is not None else ""
        raise DealNotFoundError(f"deal {deal_id} not found{when}", deal_id=str(deal_id))
    if version is not None and loaded.version < version:
        raise DealNotFoundError(f"deal {deal_id} has no version {version}", deal_id=str(deal_id))
    assert repo.pipeline is not None
    return loaded, repo.pipeline


async def history(store: EventStore, deal_id: UUID) -> list[RecordedEvent]:
    """Every event of the deal, oldest first."""
    events = await store.read_stream(str(deal_id))
    if not events or events[0].stream_type != STREAM_TYPE:
        raise DealNotFoundError(f"deal {deal_id} not found", deal_id=str(deal_id))
    return events


def actor_fields(ctx: CommandContext, store: EventStore) -> dict[str, Any]:
    """Who sends a command, in which role, and when (the store's clock)."""
    return {
        "actor_id": ctx.principal.sub,
        "actor_role": Role(ctx.principal.role.value),
        "at": store.clock(),
    }
