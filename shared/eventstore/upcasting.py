"""Schema evolution: stored events are never rewritten, old versions are upcast on read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared.eventstore.types import RecordedEvent

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class Upcasters:
    """A registry of ``(event type, from version) -> data`` steps.

    Each step turns version *n* into *n + 1*; reading applies the steps in a
    row until none is registered, so an event stored at version 1 reaches the
    current version however many steps there are.
    """

    def __init__(self) -> None:
        self._steps: dict[tuple[str, int], Upcaster] = {}

    def __bool__(self) -> bool:
        """Whether any step is registered (with none, reading needs no upcasting)."""
        return bool(self._steps)

    def register(self, event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Decorator: register the step from ``from_version`` to ``from_version + 1``."""

        def add(step: Upcaster) -> Upcaster:
            self._steps[(event_type, from_version)] = step
            return step

        return add

    def current_version(self, event_type: str) -> int:
        """The version new events of this type are written at."""
        version = 1
        while (event_type, version) in self._steps:
            version += 1
        return version

    def upcast(self, event: RecordedEvent) -> RecordedEvent:
        """The event with its data brought to the current schema version."""
        data, version = event.data, event.schema_version
        step = self._steps.get((event.type, version))
        if step is None:
            return event
        while step is not None:
            data = step(data)
            version += 1
            step = self._steps.get((event.type, version))
        return event._replace(data=data, schema_version=version)
