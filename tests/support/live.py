"""Serve an app on a real TCP port inside the test's event loop."""

from __future__ import annotations

import asyncio

import uvicorn
from fastapi import FastAPI

from shared.embedded_pg import free_port


class LiveServer:
    """uvicorn on 127.0.0.1:<port>; can be stopped and started again on the same port."""

    def __init__(self, make_app, port: int | None = None) -> None:
        self.make_app = make_app
        self.port = port or free_port()
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task | None = None
        self.app: FastAPI | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.app = self.make_app()
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        for _ in range(500):
            if self._server.started:
                return
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)
        raise TimeoutError("server did not start")

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
        self._server = self._task = None
