"""Cursor pagination with ``next`` links."""

from __future__ import annotations

from typing import Any

from fastapi import Request


def next_link(request: Request, cursor: str | None, param: str = "cursor") -> str | None:
    """The URL of the next page: the same query with ``param`` set to ``cursor``."""
    if cursor is None:
        return None
    return str(request.url.include_query_params(**{param: cursor}))


def page(items: list[Any], request: Request, cursor: str | None, param: str = "cursor") -> dict:
    """A page body: ``items`` and a ``next`` link (null on the last page)."""
    return {"items": items, "next": next_link(request, cursor, param), "next_cursor": cursor}
