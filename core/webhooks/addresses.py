"""Where a delivery may go (SSRF), and the POST itself, to the very address that was checked.

A firm admin types the endpoint's address, so it must not reach Portico's own
network: the host is resolved, and every address it resolves to must be public
(not loopback, private, link-local, shared, multicast, reserved or
unspecified; an IPv4-mapped or 6to4 IPv6 address is judged by its IPv4 one).
The connection then goes to the address that was checked, with the name kept
for the ``Host`` header and the TLS certificate check, so a name that resolves
to a public address for the check and a private one for the connection (DNS
rebinding) gains nothing. Redirects are not followed. Plain ``http`` is
refused in production. A receiver on loopback is allowed only with
``PORTICO_WEBHOOKS_ALLOW_LOOPBACK`` (tests and local development).
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
RESPONSE_KEPT = 500
TIMEOUT_SECONDS = 10


class AddressRefused(Exception):
    """The endpoint's address may not be reached; the message says why (shown in the delivery log)."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    address: str  # the resolved address that was checked, and the one connected to


@dataclass(frozen=True)
class Response:
    status: int
    body: str
    retry_after: float  # seconds the receiver asked us to wait (0: none)


def _refusal(address: IPAddress) -> str | None:
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None:
            return _refusal(embedded)
    if address.is_loopback:
        return None if settings.PORTICO_WEBHOOKS_ALLOW_LOOPBACK else "a loopback address"
    for kind in ("unspecified", "link_local", "multicast", "reserved", "private"):
        if getattr(address, f"is_{kind}"):
            return f"a {kind.replace('_', '-')} address"
    if not address.is_global:
        return "not a public address"
    return None


def schemes_allowed() -> list[str]:
    return ["https"] if settings.PRODUCTION else ["https", "http"]


def target_resolve(url: str) -> Target:
    """The endpoint's address, resolved and checked; AddressRefused names what is wrong with it."""
    parts = urlsplit(url)
    if parts.scheme not in schemes_allowed():
        raise AddressRefused(f"Refused: {parts.scheme or 'no'} scheme; endpoints use {' or '.join(schemes_allowed())}.")
    host = parts.hostname
    if not host:
        raise AddressRefused("Refused: the address names no host.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError) as failed:
        raise AddressRefused(f"Refused: {host} does not resolve ({failed}).") from failed
    addresses = list(dict.fromkeys(str(info[4][0]).split("%")[0] for info in found))
    for text in addresses:
        reason = _refusal(ipaddress.ip_address(text))
        if reason is not None:  # one bad address is enough: which one a connection would use is not ours to choose
            raise AddressRefused(f"Refused: {host} resolves to {text}, {reason}.")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(scheme=parts.scheme, host=host, port=port, path=path, address=addresses[0])


class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to the checked address; ``Host`` stays the endpoint's name."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self.pinned = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.pinned, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """As ``_PinnedHTTP``, over TLS whose certificate must name the endpoint's host."""

    def __init__(self, target: Target, timeout: float) -> None:
        self.tls = ssl.create_default_context()
        super().__init__(target.host, target.port, timeout=timeout, context=self.tls)
        self.pinned = target.address

    def connect(self) -> None:
        raw = socket.create_connection((self.pinned, self.port), self.timeout)
        self.sock = self.tls.wrap_socket(raw, server_hostname=self.host)


def retry_after_seconds(value: str | None) -> float:
    """``Retry-After`` as seconds, from delta-seconds or an HTTP date; 0 when absent or unreadable."""
    if not value:
        return 0.0
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return 0.0
    return max(0.0, (when - timezone.now()).total_seconds()) if when.tzinfo else 0.0


def post(target: Target, body: bytes, headers: dict[str, str], *, timeout: float = TIMEOUT_SECONDS) -> Response:
    """One POST to the checked address; OSError (refused, timed out, TLS) propagates."""
    connection = (_PinnedHTTPS if target.scheme == "https" else _PinnedHTTP)(target, timeout)
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        answer = connection.getresponse()
        text = answer.read(RESPONSE_KEPT).decode(errors="replace")
        return Response(
            status=answer.status, body=text, retry_after=retry_after_seconds(answer.getheader("Retry-After"))
        )
    finally:
        connection.close()
