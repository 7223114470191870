"""The delivery HTTP client against raw servers: keep-alive, closing receivers, TLS checks."""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from shared.fanout.http1 import DeliveryClient, HttpDeliveryError
from shared.fanout.targets import Target


class RawServer:
    """Reads one request at a time and answers with ``reply``; counts connections."""

    def __init__(self, reply: bytes, tls: ssl.SSLContext | None = None) -> None:
        self.reply = reply
        self.tls = tls
        self.connections = 0
        self.requests: list[bytes] = []

    async def __aenter__(self) -> RawServer:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc) -> None:
        self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(
                    next(
                        line.split(b":")[1]
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length")
                    )
                )
                self.requests.append(head + await reader.readexactly(length))
                writer.write(self.reply)
                await writer.drain()
                if b"connection: close" in self.reply.lower():
                    break
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()


def target(port: int, scheme: str = "http", **extensions) -> Target:
    return Target(httpx.URL(f"{scheme}://127.0.0.1:{port}/hook?x=1"), extensions=extensions)


KEEP_ALIVE = b"HTTP/1.1 204 No Content\r\n\r\n"
CHUNKED_CLOSE = (
    b"HTTP/1.1 503 Service Unavailable\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
    b"5\r\nbusy!\r\n0\r\n\r\n"
)


async def test_one_connection_is_kept_alive_across_deliveries() -> None:
    client = DeliveryClient(2.0, user_agent="test")
    async with RawServer(KEEP_ALIVE) as server:
        statuses = [await client.post(target(server.port), b'{"n":1}', {}) for _ in range(3)]
        assert statuses == [204, 204, 204] and server.connections == 1
        first = server.requests[0]
        assert first.startswith(b"POST /hook?x=1 HTTP/1.1\r\n")
        assert b"content-length: 7" in first.lower() and first.endswith(b'{"n":1}')
    await client.aclose()


async def test_a_closing_receiver_gets_a_fresh_connection_and_errors_are_reported() -> None:
    client = DeliveryClient(2.0, user_agent="test")
    async with RawServer(CHUNKED_CLOSE) as server:
        assert await client.post(target(server.port), b"{}", {}) == 503
        assert await client.post(target(server.port), b"{}", {}) == 503
        assert server.connections == 2
    with pytest.raises(HttpDeliveryError, match="ConnectError"):
        await client.post(target(server.port), b"{}", {})
    await client.aclose()


def self_signed(name: str, folder) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return context


async def test_tls_sends_the_pinned_hosts_name_and_checks_its_certificate(tmp_path) -> None:
    tls = self_signed("receiver.test", tmp_path)
    seen: list[str | None] = []
    tls.sni_callback = lambda _sock, name, _ctx: seen.append(name)
    client = DeliveryClient(2.0, user_agent="test")
    async with RawServer(KEEP_ALIVE, tls=tls) as server:
        with pytest.raises(HttpDeliveryError, match="certificate verify failed"):
            await client.post(target(server.port, "https", sni_hostname="receiver.test"), b"", {})
    assert seen == ["receiver.test"]  # connected to the checked address, named the host
    await client.aclose()
