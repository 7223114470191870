"""Following another service's public feed: HTTP in, local checkpoint, exactly-once effects.

A consumer reads ``GET {base_url}/events?after=<cursor>`` and, for each page,
applies its handler and stores the page's ``next_cursor`` in one local
transaction. A crash at any point either committed both or neither, so a
restart resumes with nothing missed and nothing applied twice. When the
other service is down the consumer retries with capped, jittered backoff.
Like projections, one replica at a time runs each consumer (advisory lock).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import asyncpg
import httpx
import structlog

from shared.db import close_quietly, connect
from shared.http.auth import Role, issue_token
from shared.projections.base import lock_key
from shared.settings import Settings

log = structlog.get_logger(__name__)

Handler = Callable[[asyncpg.Connection, list[dict[str, Any]]], Awaitable[None]]

_ENSURE = "insert into feed_checkpoints (name) values ($1) on conflict do nothing"
_READ = "select cursor from feed_checkpoints where name = $1"
_LOCK = "select cursor from feed_checkpoints where name = $1 for update"
_SAVE = "update feed_checkpoints set cursor = $2, updated_at = now() where name = $1"
_TRY_LEAD = "select pg_try_advisory_lock($1)"


def service_feed(
    name: str,
    base_url: str,
    settings: Settings,
    schema: str,
    handler: Handler,
    *,
    subject: str,
    types: Sequence[str] | None = None,
) -> FeedConsumer:
    """A consumer of another service's feed, reading as ``subject`` with the service role."""
    if not settings.database_url:
        raise RuntimeError("DATABASE_URL is not set")

    def token() -> str:
        return issue_token(
            settings.signing_secret, subject, Role.SERVICE, issuer=settings.jwt_issuer
        )

    return FeedConsumer(
        name, base_url, settings.database_url, schema, handler, token=token, types=types
    )


class FeedUnavailableError(RuntimeError):
    """The other service did not answer with a page of events."""


class FeedConsumer:
    """Follows one remote feed into local state."""

    def __init__(
        self,
        name: str,
        base_url: str,
        db_url: str,
        schema: str,
        handler: Handler,
        *,
        token: Callable[[], str],
        types: Sequence[str] | None = None,
        limit: int = 500,
        idle_poll: float = 0.05,
        max_backoff: float = 5.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.db_url = db_url
        self.schema = schema
        self.handler = handler
        self.token = token
        self.types = list(types) if types else None
        self.limit = limit
        self.idle_poll = idle_poll
        self.max_backoff = max_backoff
        self._client = client
        self._task: asyncio.Task | None = None
        self.leading = False
        self.applied = 0

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"feed-{self.name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def step(self, conn: asyncpg.Connection, client: httpx.AsyncClient) -> int:
        """Fetch one page after the checkpoint and apply it; returns events applied."""
        await conn.execute(_ENSURE, self.name)
        cursor = await conn.fetchval(_READ, self.name)
        page = await self._fetch(client, cursor)
        items = page.get("items") or []
        if not items:
            return 0
        async with conn.transaction():
            if await conn.fetchval(_LOCK, self.name) != cursor:
                return 0  # moved on meanwhile: fetch again from the stored cursor
            await self.handler(conn, items)
            await conn.execute(_SAVE, self.name, page["next_cursor"])
        self.applied += len(items)
        return len(items)

    async def _fetch(self, client: httpx.AsyncClient, cursor: str) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": self.limit}
        if cursor:
            params["after"] = cursor
        if self.types:
            params["type"] = self.types
        try:
            response = await client.get(
                f"{self.base_url}/events",
                params=params,
                headers={"Authorization": f"Bearer {self.token()}"},
            )
        except httpx.HTTPError as exc:
            raise FeedUnavailableError(f"{self.base_url}: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise FeedUnavailableError(f"{self.base_url}/events answered {response.status_code}")
        return response.json()

    async def _run(self) -> None:
        key = lock_key(self.schema, "feed:" + self.name)
        backoff = 0.1
        client = self._client or httpx.AsyncClient(timeout=10.0)
        try:
            while True:
                conn: asyncpg.Connection | None = None
                try:
                    conn = await connect(self.db_url, self.schema)
                    if not await conn.fetchval(_TRY_LEAD, key):
                        await conn.close()
                        await asyncio.sleep(1.0)
                        continue
                    self.leading = True
                    while True:
                        try:
                            applied = await self.step(conn, client)
                        except FeedUnavailableError as exc:
                            log.warning("feed.unavailable", feed=self.name, error=str(exc))
                            await asyncio.sleep(backoff * (0.5 + random.random()))
                            backoff = min(backoff * 2, self.max_backoff)
                            continue
                        backoff = 0.1
                        if applied < self.limit:
                            await asyncio.sleep(self.idle_poll)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.error("feed.failed", feed=self.name, error=repr(exc))
                    await asyncio.sleep(min(backoff, self.max_backoff))
                finally:
                    self.leading = False
                    if conn is not None:
                        await close_quietly(conn)
        finally:
            if self._client is None:
                await client.aclose()
