"""What a projection is: a name, the tables it owns, and a batch handler."""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod

import asyncpg

from shared.eventstore.types import RecordedEvent

# What a busy read model sets as its ``batch_window``: under a steady stream of
# commands it gathers events for this long between batches, so it may trail by
# ~50 ms, and each checkpoint transaction carries many events instead of a few.
# Several events of one deal in a batch also fold into one row write.
BATCH_WINDOW = 0.05


class Projection(ABC):
    """A read model built from the service's events.

    ``apply`` receives events in feed order inside the transaction that also
    advances the checkpoint, so its effects happen exactly once. It must use
    unqualified table names: a rebuild runs the same handler against fresh
    copies of ``tables`` in a shadow schema placed first on the search path.
    Tables must not use ``serial`` columns (a rebuilt copy would share the
    sequence of the table it replaces); identity columns are fine.
    """

    name: str
    tables: tuple[str, ...] = ()
    # Seconds to let events gather after a partial batch before the next one. At a
    # steady trickle of events every batch otherwise carries one event and pays the
    # whole checkpoint transaction for it; a read model that can be this much staler
    # (the first event after a quiet spell is still applied at once) costs a fraction.
    batch_window: float = 0.0

    @abstractmethod
    async def apply(self, conn: asyncpg.Connection, events: list[RecordedEvent]) -> None:
        """Apply a batch of events to this projection's tables."""


def lock_key(schema: str, name: str) -> int:
    """Stable 64-bit advisory-lock key for one projection in one schema."""
    digest = hashlib.sha256(f"{schema}.{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)
