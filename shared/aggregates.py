"""Load → fold → decide → append, the same for every aggregate of both services."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from shared.eventstore import AppendResult, EventStore, NewEvent, RecordedEvent, StoredResponse
from shared.serde import from_data, to_data

S = TypeVar("S")
C = TypeVar("C")
E = TypeVar("E")


class UnknownEventTypeError(LookupError):
    """A stored event type that the domain does not know."""


@dataclass(frozen=True)
class EventCodec:
    """Domain events ↔ stored (type, data). The event class name is the stored type.

    ``encode_hook`` / ``decode_hook`` let a service transform one event's data
    on the way in and out (the accounts service encrypts personal fields).
    """

    types: Mapping[str, type]
    encode_hook: Callable[[str, dict[str, Any]], dict[str, Any]] | None = None
    decode_hook: Callable[[str, dict[str, Any]], dict[str, Any]] | None = None

    def encode(self, event: Any) -> NewEvent:
        name = type(event).__name__
        data = to_data(event)
        if self.encode_hook is not None:
            data = self.encode_hook(name, data)
        return NewEvent(name, data)

    def decode(self, recorded: RecordedEvent) -> Any:
        cls = self.types.get(recorded.type)
        if cls is None:
            raise UnknownEventTypeError(recorded.type)
        data = recorded.data
        if self.decode_hook is not None:
            data = self.decode_hook(recorded.type, data)
        return from_data(cls, data)


@dataclass(frozen=True)
class Aggregate(Generic[S, C, E]):
    """How one kind of stream is folded and decided."""

    stream_type: str
    initial: Callable[[str], S]
    decide: Callable[[S, C], list[E]]
    evolve: Callable[[S, E], S]
    codec: EventCodec


@dataclass(frozen=True, slots=True)
class Loaded(Generic[S]):
    state: S
    version: int


class Repository(Generic[S, C, E]):
    """Reads and writes one aggregate type through the event store."""

    def __init__(self, store: EventStore, aggregate: Aggregate[S, C, E]) -> None:
        self.store = store
        self.aggregate = aggregate

    async def load(
        self, stream_id: str, *, to_version: int | None = None, as_of: datetime | None = None
    ) -> Loaded[S]:
        """The aggregate folded from its events (up to a version or a moment).

        A stream of another type (an id taken from the wrong resource) loads as
        the initial state at version 0, i.e. as "not found".
        """
        events = await self.store.read_stream(stream_id, to_version=to_version, as_of=as_of)
        return self.fold(stream_id, events)

    async def presume(self, stream_id: str, *, new: bool = False) -> Loaded[S] | None:
        """The stream as it is taken to be without reading it, or None: read it first.

        A stream the caller is about to create is presumed empty. A command decided
        on a presumed state is appended with its version as the expected one, so a
        wrong presumption costs a failed append, never a wrong event.
        """
        return Loaded(self.aggregate.initial(stream_id), 0) if new else None

    async def load_for_command(
        self, stream_id: str, *, scope: str, key: str | None, request_hash: bytes
    ) -> StoredResponse | Loaded[S]:
        """The response stored for the command's idempotency key if it ran before, else
        the aggregate folded from its events: one round trip either way."""
        stored, events = await self.store.read_for_command(
            stream_id, scope=scope, key=key, request_hash=request_hash
        )
        return stored if stored is not None else self.fold(stream_id, events)

    def fold(
        self, stream_id: str, events: list[RecordedEvent], start: Loaded[S] | None = None
    ) -> Loaded[S]:
        """Stored events folded onto ``start`` (the initial state when None)."""
        if start is None:
            if events and events[0].stream_type != self.aggregate.stream_type:
                return Loaded(self.aggregate.initial(stream_id), 0)
            start = Loaded(self.aggregate.initial(stream_id), 0)
        state = start.state
        for recorded in events:
            state = self.aggregate.evolve(state, self.aggregate.codec.decode(recorded))
        return Loaded(state, events[-1].version if events else start.version)

    def appended(self, stream_id: str, loaded: Loaded[S]) -> None:
        """Told that a command's events were committed, on their own: ``loaded`` is the
        stream now (a repository that keeps recent states keeps it)."""

    def apply(self, state: S, events: list[E]) -> S:
        """Fold new (not yet stored) events onto ``state``."""
        for event in events:
            state = self.aggregate.evolve(state, event)
        return state

    async def append(
        self,
        stream_id: str,
        expected_version: int,
        events: list[E],
        metadata: dict[str, Any],
        **kwargs: Any,
    ) -> AppendResult:
        new = [self.aggregate.codec.encode(e) for e in events]
        return await self.store.append(
            stream_id, self.aggregate.stream_type, expected_version, new, metadata, **kwargs
        )
