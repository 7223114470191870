"""Admin-defined pipelines as event-sourced streams: one stream per pipeline code.

Pure like ``domain/`` (no I/O): ``decide(state, command)`` / ``evolve(state, event)``.
The presets live in code (``domain.PRESETS``) and can be neither defined nor revised
here. A revision replaces the whole definition; once deals use the pipeline
(the handler counts them and passes ``in_use``) a revision may add stages and change
stage figures, names, gates and quote limits, but never remove a stage, reorder
the existing ones or move the won stage — history, reopening and the views all
refer to the stages deals have been in.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from services.deals.domain import PRESETS, NotAllowedError, Pipeline, Role, removed_stages
from services.deals.errors import PipelineExistsError, PipelineInUseError, PipelineNotFoundError

STREAM_TYPE = "pipeline"
_frozen = dataclass(frozen=True, slots=True, kw_only=True)


def stream_id(code: str) -> str:
    return f"pipeline:{code}"


# --- commands and events ----------------------------------------------------------------


@_frozen
class DefinePipeline:
    pipeline: Pipeline
    actor_id: str
    actor_role: Role
    at: datetime


@_frozen
class RevisePipeline:
    pipeline: Pipeline
    actor_id: str
    actor_role: Role
    at: datetime
    in_use: bool  # some deal was opened on this pipeline


@_frozen
class PipelineDefined:
    code: str
    definition: Pipeline
    by: str
    at: datetime


@_frozen
class PipelineRevised:
    code: str
    definition: Pipeline
    added_stages: tuple[str, ...]
    removed_stages: tuple[str, ...]
    by: str
    at: datetime


EVENT_TYPES: dict[str, type] = {c.__name__: c for c in (PipelineDefined, PipelineRevised)}


# --- state ------------------------------------------------------------------------------


@_frozen
class PipelineRecord:
    definition: Pipeline | None = None
    version: int = 0
    defined_at: datetime | None = None
    updated_at: datetime | None = None


def evolve(state: PipelineRecord, event: PipelineDefined | PipelineRevised) -> PipelineRecord:
    defined_at = event.at if isinstance(event, PipelineDefined) else state.defined_at
    return replace(
        state,
        definition=event.definition,
        version=state.version + 1,
        defined_at=defined_at,
        updated_at=event.at,
    )


# --- deciding ---------------------------------------------------------------------------


def decide(
    state: PipelineRecord, command: DefinePipeline | RevisePipeline
) -> list[PipelineDefined | PipelineRevised]:
    if command.actor_role is not Role.ADMIN:
        raise NotAllowedError("only an admin may define pipelines", actor_role=command.actor_role)
    new = command.pipeline.validate()
    if new.code in PRESETS:
        raise PipelineExistsError(
            f"{new.code!r} is a preset pipeline; presets are not redefined", pipeline=new.code
        )
    match command:
        case DefinePipeline():
            if state.definition is not None:
                raise PipelineExistsError(f"pipeline {new.code!r} exists", pipeline=new.code)
            return [
                PipelineDefined(code=new.code, definition=new, by=command.actor_id, at=command.at)
            ]
        case RevisePipeline():
            return _revise(state, command, new)
    raise TypeError(f"not a pipeline command: {command!r}")


def _revise(state: PipelineRecord, cmd: RevisePipeline, new: Pipeline) -> list[PipelineRevised]:
    old = state.definition
    if old is None:
        raise PipelineNotFoundError(f"no pipeline {new.code!r}", pipeline=new.code)
    if old == new:
        return []
    removed = removed_stages(old, new)
    if cmd.in_use:
        _check_in_use(old, new, removed)
    known = {s.code for s in old.stages}
    added = tuple(s.code for s in new.stages if s.code not in known)
    return [
        PipelineRevised(
            code=new.code,
            definition=new,
            added_stages=added,
            removed_stages=removed,
            by=cmd.actor_id,
            at=cmd.at,
        )
    ]


def _check_in_use(old: Pipeline, new: Pipeline, removed: tuple[str, ...]) -> None:
    if removed:
        raise PipelineInUseError(
            f"pipeline {old.code!r} is in use; its stages {', '.join(removed)} cannot be removed",
            stages=list(removed),
        )
    kept = [s.code for s in new.stages if s.code in {o.code for o in old.stages}]
    if kept != [s.code for s in old.stages]:
        raise PipelineInUseError(
            f"pipeline {old.code!r} is in use; its stages keep their order", stages=kept
        )
    if new.won_stage != old.won_stage:
        raise PipelineInUseError(
            f"pipeline {old.code!r} is in use; its won stage stays {old.won_stage!r}",
            stages=[old.won_stage],
        )
