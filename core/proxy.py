"""What the app expects of the reverse proxy in front of it (``infra/nginx``), and the page it borrows.

``ForwardedHeadersMiddleware`` runs first: ``X-Forwarded-*`` (and ``Forwarded``,
``X-Real-IP``) are believed only from a peer listed in ``PORTICO_TRUSTED_PROXIES``
and removed from anyone else's request, so ``SECURE_PROXY_SSL_HEADER`` (is the
request HTTPS?) and the audit log's client address (``core.audit.request``)
cannot be forged by a client that reaches the app server directly.

``upload_too_large`` is the page the proxy shows when it refuses a request body
over its limit (``error_page 413``): the portal's own message, in the visitor's
language (the signed-in person's preference, else the language cookie or the
browser's), with status 413. The refused body never reaches Django.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

FORWARDED_HEADERS = (
    "HTTP_FORWARDED",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_PROTOCOL",
    "HTTP_X_FORWARDED_SSL",
    "HTTP_X_REAL_IP",
)


@lru_cache(maxsize=8)
def _networks(configured: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in configured)


def peer_is_trusted_proxy(remote_addr: str) -> bool:
    try:
        peer = ipaddress.ip_address(remote_addr.strip())
    except ValueError:
        return False
    return any(peer in network for network in _networks(tuple(settings.PORTICO_AUDIT_TRUSTED_PROXIES)))


class ForwardedHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not peer_is_trusted_proxy(str(request.META.get("REMOTE_ADDR", ""))):
            for name in FORWARDED_HEADERS:
                request.META.pop(name, None)
        return self.get_response(request)


@csrf_exempt  # the proxy redirects a refused POST here as it is; nothing is changed
def upload_too_large(request: HttpRequest) -> HttpResponse:
    back = request.headers.get("Referer", "")
    if not back.startswith(f"{request.scheme}://{request.get_host()}/"):
        back = "/"  # only a page of this site
    context = {"limit": settings.PORTICO_UPLOAD_MAX_BYTES, "back": back}
    return render(request, "upload_too_large.html", context, status=413)
