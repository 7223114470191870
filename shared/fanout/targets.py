"""Which webhook receivers we are willing to call, and where exactly we connect.

Receivers must be ``http``/``https`` URLs whose host resolves only to public
addresses: loopback, private, link-local, shared (CGNAT), multicast and
reserved ranges are refused, so a subscription cannot make the service probe
its own network (SSRF). Hosts on the ``WEBHOOK_ALLOW_HOSTS`` list (tests,
development, a known internal receiver) skip the address check.

The check runs when a subscription is registered *and* before every delivery,
and the delivery then connects to the very address that was checked (the
hostname still goes in ``Host`` and TLS SNI), so a DNS answer that changes
between check and connect (DNS rebinding) cannot redirect it inward.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass, field

import httpx

SCHEMES = frozenset({"http", "https"})


class TargetRefusedError(ValueError):
    """A receiver URL we will not call; the message says why."""


@dataclass(frozen=True, slots=True)
class Target:
    """Where to send one request: the URL to connect to, plus Host and SNI to present."""

    url: httpx.URL
    headers: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, str] = field(default_factory=dict)


def parse_allow_list(text: str | None) -> frozenset[str]:
    """``WEBHOOK_ALLOW_HOSTS``: comma- or space-separated host names or addresses."""
    parts = (text or "").replace(",", " ").split()
    return frozenset(_normalise(p) for p in parts if p)


def check_syntax(url: str) -> httpx.URL:
    """Parse a receiver URL; raises :class:`TargetRefusedError` unless it is http(s) with a host."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise TargetRefusedError("not a valid URL") from exc
    if parsed.scheme not in SCHEMES:
        raise TargetRefusedError("only http and https receivers are allowed")
    if not parsed.host:
        raise TargetRefusedError("the URL has no host")
    if parsed.fragment:
        raise TargetRefusedError("the URL must not have a fragment")
    return parsed


def refused_address(address: str) -> bool:
    """True for any address that is not globally routable unicast."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


async def resolve_target(url: str, allow_hosts: frozenset[str]) -> Target:
    """Check ``url`` and pin it to a checked address; raises :class:`TargetRefusedError`."""
    parsed = check_syntax(url)
    host = _normalise(parsed.host)
    if host in allow_hosts:
        return Target(parsed)
    if _is_ip(host):
        if refused_address(host):
            raise TargetRefusedError(f"{host} is not a public address")
        return Target(parsed)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise TargetRefusedError(f"cannot resolve {host}") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise TargetRefusedError(f"cannot resolve {host}")
    inward = [a for a in addresses if refused_address(a)]
    if inward:
        raise TargetRefusedError(f"{host} resolves to a non-public address ({inward[0]})")
    extensions = {"sni_hostname": parsed.host} if parsed.scheme == "https" else {}
    return Target(
        parsed.copy_with(host=addresses[0]),
        headers={"Host": parsed.netloc.decode("ascii").rsplit("@", 1)[-1]},
        extensions=extensions,
    )


def _normalise(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True
