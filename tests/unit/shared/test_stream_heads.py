"""The store's memory of stream heads: only the newest, only while it fits."""

from __future__ import annotations

from shared.eventstore.heads import StreamHeads


def test_a_head_answers_only_for_its_own_version() -> None:
    heads = StreamHeads()
    heads.learn("s", 3, b"h3")
    assert heads.hash_at("s", 3) == b"h3"
    assert heads.hash_at("s", 2) is None
    assert heads.hash_at("other", 3) is None


def test_an_older_head_never_replaces_a_newer_one() -> None:
    heads = StreamHeads()
    heads.learn("s", 5, b"h5")
    heads.learn("s", 4, b"h4")
    assert heads.hash_at("s", 5) == b"h5"
    heads.learn("s", 6, b"h6")
    assert heads.hash_at("s", 6) == b"h6" and heads.hash_at("s", 5) is None


def test_when_full_the_longest_known_heads_are_forgotten_first() -> None:
    heads = StreamHeads(size=10)
    for n in range(10):
        heads.learn(f"s{n}", 1, b"h")
    heads.learn("s0", 2, b"h")  # a known stream moving on takes no room
    assert len(heads) == 10
    heads.learn("new", 1, b"h")
    assert len(heads) == 10
    assert heads.hash_at("s0", 2) is None  # learned first, forgotten first
    assert heads.hash_at("new", 1) == b"h" and heads.hash_at("s9", 1) == b"h"
