"""Where the current request came from, for every audit entry recorded while it runs.

``core.middleware.AuditOriginMiddleware`` sets the request's origin (the client's
address, by the trusted-proxy rules of ``core.audit.request``, and its user
agent) in a context variable for the whole request and resets it when the
response is made, also when the view raised. ``audit_record`` reads it, so a
service called from a view (a refund approved on a staff page, a document
uploaded through the API) records where the action came from without the
request being passed down to it.

A context variable belongs to its thread (and its asyncio task), so concurrent
requests never see each other's origin, and a worker thread that served one
request holds nothing of it for the next.

Outside a request there is no origin: a Celery task (scheduled, or sent by a
request: it runs later, in a worker) and the ``portico`` CLI record an empty
address and user agent. The entry's actor and data say who or what it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.http import HttpRequest

from core.audit.request import client_ip, user_agent


@dataclass(frozen=True)
class Origin:
    """The client's address and user agent ("" when unknown)."""

    ip: str = ""
    user_agent: str = ""


NO_ORIGIN = Origin()
_origin: ContextVar[Origin] = ContextVar("portico_audit_origin", default=NO_ORIGIN)


def current_origin() -> Origin:
    """The origin of the request being served here; ``NO_ORIGIN`` outside one (a task, the CLI)."""
    return _origin.get()


def origin_of(request: HttpRequest) -> Origin:
    return Origin(ip=client_ip(request), user_agent=user_agent(request))


@contextmanager
def request_origin(request: HttpRequest) -> Iterator[Origin]:
    """Audit entries recorded inside this block carry ``request``'s address and user agent."""
    origin = origin_of(request)
    token = _origin.set(origin)
    try:
        yield origin
    finally:
        _origin.reset(token)
