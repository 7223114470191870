"""Loading deals and pipelines: the aggregates, pipeline lookup, and recent deal states.

A deal is decided against its pipeline's definition: presets come from code,
admin-defined pipelines from their own streams (:mod:`services.deals.catalog`).
:class:`DealRepository` loads the deal and its pipeline together, so a command on a
preset pipeline costs no extra read.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from services.deals import catalog
from services.deals.domain import (
    EVENT_TYPES,
    PRESETS,
    STREAM_TYPE,
    Deal,
    Pipeline,
    UnknownPipelineError,
    decide,
    evolve,
)
from shared.aggregates import Aggregate, EventCodec, Loaded, Repository
from shared.eventstore import AppendResult, EventStore

DEAL = Aggregate(STREAM_TYPE, lambda _id: Deal(), decide, evolve, EventCodec(EVENT_TYPES))
PIPELINE = Aggregate(
    catalog.STREAM_TYPE,
    lambda _id: catalog.PipelineRecord(),
    catalog.decide,
    catalog.evolve,
    EventCodec(catalog.EVENT_TYPES),
)
AGGREGATES: dict[str, Aggregate] = {a.stream_type: a for a in (DEAL, PIPELINE)}


async def load_pipeline(store: EventStore, code: str) -> Loaded[catalog.PipelineRecord]:
    """An admin-defined pipeline's stream, folded (version 0: there is none)."""
    return await Repository(store, PIPELINE).load(catalog.stream_id(code))


async def find_pipeline(store: EventStore, code: str) -> Pipeline:
    """A preset, or the current definition of an admin-defined pipeline."""
    preset = PRESETS.get(code)
    if preset is not None:
        return preset
    definition = (await load_pipeline(store, code)).state.definition
    if definition is None:
        raise UnknownPipelineError(f"no pipeline {code!r}", pipeline=code)
    return definition


class StateCache:
    """Recently used deals, each at the version it was folded to (least recently used
    dropped first). An entry is used only while the stream is still at its version —
    one indexed read instead of reading and folding every event — so a stale entry
    (another replica appended) costs a reload, never a wrong answer."""

    def __init__(self, size: int = 5000) -> None:
        self.size = size
        self._items: OrderedDict[str, Loaded[Deal]] = OrderedDict()

    def get(self, stream_id: str) -> Loaded[Deal] | None:
        item = self._items.get(stream_id)
        if item is not None:
            self._items.move_to_end(stream_id)
        return item

    def put(self, stream_id: str, loaded: Loaded[Deal]) -> None:
        current = self._items.get(stream_id)
        if current is not None and current.version > loaded.version:
            return  # a concurrent request already cached a later version
        self._items[stream_id] = loaded
        self._items.move_to_end(stream_id)
        while len(self._items) > self.size:
            self._items.popitem(last=False)


class DealRepository(Repository):
    """Deals, each loaded with its pipeline's definition, which ``decide`` needs.

    ``check`` runs on the command before ``decide`` (rules on data read beforehand);
    ``states`` (optional) keeps the latest states between requests.
    """

    def __init__(
        self,
        store: EventStore,
        *,
        pipeline: Pipeline | None = None,
        check: Callable[[Any], None] | None = None,
        states: StateCache | None = None,
    ) -> None:
        super().__init__(store, replace(DEAL, decide=self._decide))
        self.pipeline = pipeline
        self.check = check
        self.states = states
        self._loaded: Loaded[Deal] | None = None

    async def load(
        self, stream_id: str, *, to_version: int | None = None, as_of: datetime | None = None
    ) -> Loaded[Deal]:
        if as_of is not None:
            loaded = await self._as_of(stream_id, to_version, as_of)
        elif to_version is not None or self.states is None:
            loaded = await super().load(stream_id, to_version=to_version)
        else:
            loaded = await self._latest(stream_id, self.states)
        if loaded.state.exists and self.pipeline is None:
            self.pipeline = await find_pipeline(self.store, loaded.state.pipeline)
        self._loaded = loaded
        return loaded

    async def _latest(self, stream_id: str, states: StateCache) -> Loaded[Deal]:
        cached = states.get(stream_id)
        if cached is not None and await self.store.stream_version(stream_id) == cached.version:
            return cached
        loaded = await super().load(stream_id)
        if loaded.state.exists:
            states.put(stream_id, loaded)
        return loaded

    async def _as_of(self, stream_id: str, to_version: int | None, as_of: datetime) -> Loaded:
        """A deal as of business time: the ``at`` each event carries (never earlier than
        the one before, so the events up to a moment are a prefix of the stream). It is
        the time the deal shows (opened, stage history) and the views' validity
        intervals use; ``recorded_at`` trails it by the append's milliseconds, and by
        far more for imported history."""
        events = await self.store.read_stream(stream_id, to_version=to_version)
        state, version = Deal(), 0
        if events and events[0].stream_type != STREAM_TYPE:
            return Loaded(state, 0)
        for recorded in events:
            event = DEAL.codec.decode(recorded)
            if event.at > as_of:
                break
            state, version = evolve(state, event), recorded.version
        return Loaded(state, version)

    async def append(
        self,
        stream_id: str,
        expected_version: int,
        events: list,
        metadata: dict[str, Any],
        **kwargs: Any,
    ) -> AppendResult:
        result = await super().append(stream_id, expected_version, events, metadata, **kwargs)
        loaded = self._loaded
        # Only an append that committed on its own: one inside a caller's transaction
        # might still roll back, and a version must always name the same state.
        committed = "conn" not in kwargs
        if self.states is not None and committed and loaded and loaded.version == expected_version:
            state = self.apply(loaded.state, events)
            self.states.put(stream_id, Loaded(state, result.version))
        return result

    def _decide(self, state: Deal, command: Any) -> list:
        if self.check is not None:
            self.check(command)
        return decide(state, command, self.pipeline)
