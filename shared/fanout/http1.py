"""A lean keep-alive HTTP/1.1 client for webhook deliveries (h11 over asyncio streams).

Deliveries to one subscription are strictly sequential, so their rate is
bounded by one request's round trip, and on a busy host that is mostly
client CPU. A general-purpose client (httpx over httpcore over anyio)
spends about four times the CPU of this one per POST, which is the
difference between keeping up with 500 events/s and falling behind.
It does exactly what deliveries need: POST a body, read the status, drain
(a bounded amount of) the response, reuse the connection, never follow
redirects; TLS with SNI and certificate checks from the default context.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ssl
from urllib.parse import unquote

import h11

from shared.fanout.targets import Target

MAX_RESPONSE_BYTES = 256 * 1024
READ_CHUNK = 65536


class HttpDeliveryError(Exception):
    """The request got no HTTP answer (connect, TLS, timeout or protocol failure)."""


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.h11 = h11.Connection(h11.CLIENT)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


class DeliveryClient:
    """POSTs over one kept-alive connection per origin; one request at a time."""

    def __init__(self, timeout: float, *, user_agent: str) -> None:
        self.timeout = timeout
        self.user_agent = user_agent
        self._connections: dict[tuple, _Connection] = {}
        self._tls = ssl.create_default_context()

    async def post(self, target: Target, body: bytes, headers: dict[str, str]) -> int:
        """Send one POST and return the response status; raises :class:`HttpDeliveryError`."""
        url = target.url
        key = (url.scheme, url.host, url.port, target.extensions.get("sni_hostname"))
        request = self._request(target, body, headers)
        for attempt in (1, 2):
            connection = self._connections.pop(key, None)
            reused = connection is not None
            try:
                async with asyncio.timeout(self.timeout):
                    if connection is None:
                        connection = await self._connect(target)
                    status, reusable = await self._exchange(connection, request, body)
            except (OSError, TimeoutError, ssl.SSLError, h11.ProtocolError) as exc:
                if connection is not None:
                    connection.close()
                # A kept-alive connection the receiver closed meanwhile fails
                # before any answer: that one is retried once on a fresh one.
                if reused and attempt == 1 and not isinstance(exc, TimeoutError):
                    continue
                raise HttpDeliveryError(_describe(exc)) from exc
            if reusable:
                self._connections[key] = connection
            else:
                connection.close()
            return status
        raise AssertionError("unreachable")

    async def aclose(self) -> None:
        """Close every kept-alive connection."""
        for connection in self._connections.values():
            connection.close()
        self._connections.clear()

    async def _connect(self, target: Target) -> _Connection:
        url = target.url
        port = url.port or (443 if url.scheme == "https" else 80)
        if url.scheme == "https":
            sni = target.extensions.get("sni_hostname") or url.host
            reader, writer = await asyncio.open_connection(
                url.host, port, ssl=self._tls, server_hostname=sni
            )
        else:
            reader, writer = await asyncio.open_connection(url.host, port)
        return _Connection(reader, writer)

    def _request(self, target: Target, body: bytes, headers: dict[str, str]) -> h11.Request:
        url = target.url
        host = target.headers.get("Host") or url.netloc.decode("ascii").rsplit("@", 1)[-1]
        fields = [
            ("host", host),
            ("user-agent", self.user_agent),
            ("content-length", str(len(body))),
        ]
        if url.userinfo:
            credentials = unquote(url.userinfo.decode("ascii")).encode()
            fields.append(("authorization", "Basic " + base64.b64encode(credentials).decode()))
        fields += [(k, v) for k, v in headers.items() if k.lower() != "host"]
        return h11.Request(method="POST", target=url.raw_path, headers=fields)

    async def _exchange(
        self, connection: _Connection, request: h11.Request, body: bytes
    ) -> tuple[int, bool]:
        conn = connection.h11
        connection.writer.write(
            conn.send(request) + conn.send(h11.Data(data=body)) + conn.send(h11.EndOfMessage())
        )
        await connection.writer.drain()
        status, received = 0, 0
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = await connection.reader.read(READ_CHUNK)
                if not data and not status:
                    raise ConnectionResetError("the receiver closed the connection")
                conn.receive_data(data)
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.Data):
                received += len(event.data)
                if received > MAX_RESPONSE_BYTES:  # we only need the status
                    return status, False
            elif isinstance(event, h11.EndOfMessage):
                break
            elif isinstance(event, h11.ConnectionClosed):
                return status, False
        if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
            conn.start_next_cycle()
            return status, True
        return status, False


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "Timeout: no answer in time"
    if isinstance(exc, ssl.SSLError):
        return f"TLSError: {exc}"
    if isinstance(exc, h11.ProtocolError):
        return f"ProtocolError: {exc}"
    return f"ConnectError: {exc}".rstrip(": ")
