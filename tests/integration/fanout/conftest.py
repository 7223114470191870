"""Fixtures for events leaving a service: subscriptions table, receivers, NATS, SSE parsing."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import asyncpg
import httpx
import pytest
from fastapi import FastAPI, Request, Response

from shared.embedded_pg import free_port
from shared.fanout.nats_server import EmbeddedNats
from shared.fanout.schema import install_subscriptions
from tests.support.http import auth
from tests.support.live import LiveServer


@pytest.fixture
async def fanout_schema(db_url: str, schema: str) -> str:
    """The test schema with the webhook subscriptions table as well."""
    conn = await asyncpg.connect(db_url)
    try:
        await install_subscriptions(conn, schema)
    finally:
        await conn.close()
    return schema


@dataclass
class Receiver:
    """A webhook receiver on a real port; ``status`` decides its answer (2xx accepts)."""

    status: int = 204
    attempts: list[tuple[float, dict[str, str], bytes]] = field(default_factory=list)
    accepted: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    server: LiveServer | None = None

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/hook")
        async def hook(request: Request) -> Response:
            body = await request.body()
            headers = dict(request.headers)
            self.attempts.append((time.monotonic(), headers, body))
            if 200 <= self.status < 300:
                self.accepted.append((headers, body))
            return Response(status_code=self.status)

        return app

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url + "/hook"


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    r.server = LiveServer(r.app)
    await r.server.start()
    try:
        yield r
    finally:
        await r.server.stop()


@pytest.fixture
def nats_server(tmp_path) -> Iterator[EmbeddedNats]:
    server = EmbeddedNats(tmp_path / "nats", port=free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def until(predicate, timeout: float = 10.0, what: str = "condition") -> None:
    """Wait for a (sync or async) predicate to hold."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        assert time.monotonic() < deadline, f"{what} not reached in {timeout}s"
        await asyncio.sleep(0.02)


async def open_counters(client: httpx.AsyncClient, n: int, prefix: str = "c") -> list[str]:
    """Append ``n`` events (one Opened per counter) through the example service."""
    ids = []
    for i in range(n):
        cid = f"{prefix}-{i}-{time.monotonic_ns()}"
        response = await client.post(f"/counters/{cid}", headers=auth())
        assert response.status_code == 201, response.text
        ids.append(cid)
    return ids


async def feed(client: httpx.AsyncClient, **params) -> list[dict]:
    """Every event of the public feed, in order."""
    items: list[dict] = []
    after = None
    while True:
        query = {"limit": 1000, **params, **({"after": after} if after else {})}
        page = (await client.get("/events", params=query, headers=auth())).json()
        items += page["items"]
        if not page["items"]:
            return items
        after = page["next_cursor"]


@dataclass
class SseMessage:
    id: str | None = None
    data: str | None = None
    comment: str | None = None
    retry: int | None = None


@contextlib.asynccontextmanager
async def sse(base_url: str, path: str = "/events/stream", **kwargs) -> AsyncIterator:
    """Open an SSE stream; yields an async iterator of parsed messages."""
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=10.0) as client,
        client.stream("GET", path, **kwargs) as response,
    ):
        response.raise_for_status()
        yield response, _messages(response)


async def _messages(response: httpx.Response) -> AsyncIterator[SseMessage]:
    message = SseMessage()
    async for line in response.aiter_lines():
        if line == "":
            yield message
            message = SseMessage()
        elif line.startswith(":"):
            message.comment = line[1:].strip()
        else:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "id":
                message.id = value
            elif name == "data":
                message.data = value if message.data is None else message.data + "\n" + value
            elif name == "retry":
                message.retry = int(value)
