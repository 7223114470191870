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
from shared.eventstore import EventStore, RecordedEvent, StoredResponse

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
    dropped first). A read folds only the events after an entry's version onto it, and
    a command naming that version in ``If-Match`` is decided on it without a read at
    all (the append checks the version), so a stale entry (another replica appended)
    costs a read of the newer events, never a wrong answer."""

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

    async def load(
        self, stream_id: str, *, to_version: int | None = None, as_of: datetime | None = None
    ) -> Loaded[Deal]:
        if as_of is not None:
            loaded = await self._as_of(stream_id, to_version, as_of)
        elif to_version is not None or self.states is None:
            loaded = await super().load(stream_id, to_version=to_version)
        else:
            known = self._known(stream_id)
            _, events = await self.store.read_for_command(stream_id, after_version=known.version)
            loaded = self._folded(stream_id, known, events)
        return await self._use(loaded)

    async def presume(self, stream_id: str, *, new: bool = False) -> Loaded[Deal] | None:
        """A new deal is presumed empty, an existing one at its cached state."""
        if new:
            presumed = await super().presume(stream_id, new=True)
        else:
            presumed = self.states.get(stream_id) if self.states is not None else None
        return None if presumed is None else await self._use(presumed)

    async def load_for_command(
        self, stream_id: str, *, scope: str, key: str | None, request_hash: bytes
    ) -> StoredResponse | Loaded[Deal]:
        """Only the events after the cached state are read (with the idempotency record)."""
        known = self._known(stream_id)
        stored, events = await self.store.read_for_command(
            stream_id,
            after_version=known.version,
            scope=scope,
            key=key,
            request_hash=request_hash,
        )
        if stored is not None:
            return stored
        return await self._use(self._folded(stream_id, known, events))

    def _known(self, stream_id: str) -> Loaded[Deal]:
        """The cached state to fold newer events onto (version 0: none)."""
        cached = self.states.get(stream_id) if self.states is not None else None
        return cached or Loaded(Deal(), 0)

    def _folded(
        self, stream_id: str, known: Loaded[Deal], events: list[RecordedEvent]
    ) -> Loaded[Deal]:
        """``events`` (those after ``known``) folded onto it, and cached."""
        loaded = self.fold(stream_id, events, known if known.version else None)
        if self.states is not None and loaded.state.exists:
            self.states.put(stream_id, loaded)
        return loaded

    async def _use(self, loaded: Loaded[Deal]) -> Loaded[Deal]:
        """``loaded``, its pipeline resolved for ``decide``."""
        if loaded.state.exists and self.pipeline is None:
            self.pipeline = await find_pipeline(self.store, loaded.state.pipeline)
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

    def appended(self, stream_id: str, loaded: Loaded[Deal]) -> None:
        if self.states is not None:
            self.states.put(stream_id, loaded)

    def _decide(self, state: Deal, command: Any) -> list:
        if self.check is not None:
            self.check(command)
        return decide(state, command, self.pipeline)
