"""Where a request came from: the client's IP address and user agent.

``REMOTE_ADDR`` is the peer that connected to us. ``X-Forwarded-For`` is only
believed when that peer is one of ``PORTICO_AUDIT_TRUSTED_PROXIES`` (addresses or
networks); then the rightmost hop that is not itself a trusted proxy is the
client, since anything further left was written by the client and may be forged.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
USER_AGENT_MAX = 512


@lru_cache(maxsize=8)
def _networks(configured: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in configured if item.strip())


def _parse(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _is_trusted(address: IPAddress) -> bool:
    networks = _networks(tuple(settings.PORTICO_AUDIT_TRUSTED_PROXIES))
    return any(address in network for network in networks)


def client_ip(request: HttpRequest) -> str:
    """The client's address as text ('' when unknown)."""
    peer = _parse(str(request.META.get("REMOTE_ADDR", "")))
    if peer is None:
        return ""
    if _is_trusted(peer):
        hops = [hop for hop in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",") if hop.strip()]
        for hop in reversed(hops):
            address = _parse(hop)
            if address is None:  # a garbled hop: trust nothing left of it
                break
            peer = address
            if not _is_trusted(address):
                break
    return str(peer)


def user_agent(request: HttpRequest) -> str:
    return str(request.META.get("HTTP_USER_AGENT", ""))[:USER_AGENT_MAX]
