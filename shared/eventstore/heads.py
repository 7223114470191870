"""The latest known head (version, hash) of each stream, for chaining the next append.

Events never change, so a head learned from a committed event stays true: the
only way it can mislead is by being old, and then it does not match the version
an append expects, which then takes the hash from the stored row instead.
"""

from __future__ import annotations

import itertools

HEADS_KEPT = 50_000


class StreamHeads:
    """At most ``size`` heads; when full, the longest-known tenth is forgotten."""

    def __init__(self, size: int = HEADS_KEPT) -> None:
        self.size = size
        self._heads: dict[str, tuple[int, bytes]] = {}

    def __len__(self) -> int:
        return len(self._heads)

    def hash_at(self, stream_id: str, version: int) -> bytes | None:
        """The hash of the stream's event ``version`` if that is its known head."""
        head = self._heads.get(stream_id)
        return head[1] if head is not None and head[0] == version else None

    def learn(self, stream_id: str, version: int, hash_: bytes) -> None:
        """Keep a committed event's (version, hash) as its stream's head if it is newer."""
        heads = self._heads
        known = heads.get(stream_id)
        if known is not None and known[0] >= version:
            return
        if known is None and len(heads) >= self.size:
            for oldest in list(itertools.islice(heads, max(1, self.size // 10))):
                del heads[oldest]
        heads[stream_id] = (version, bytes(hash_))
