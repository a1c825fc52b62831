"""Request middleware: request ids, the audit origin, finding the firm from the host, refusing inactive firms."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.http.request import split_domain_port
from django.shortcuts import render
from django.utils import translation
from django_tenants.middleware.main import TenantMainMiddleware
from django_tenants.utils import remove_www

from core.audit.context import request_origin
from core.errors import api_error_response, is_api_request
from core.logging import request_id_var
from tenants.db import tenant_connection
from tenants.routing import tenant_for_host
from tenants.schema_check import schema_verified

Handler = Callable[[HttpRequest], HttpResponse]
logger = logging.getLogger(__name__)


class RequestIdMiddleware:
    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if 8 <= len(incoming) <= 64 and incoming.isascii() else uuid.uuid4().hex
        # Not reset when the response is back: Django logs a 4xx/5xx (django.request) after the
        # middleware has returned, and that line needs the id too. The next request sets its own.
        request_id_var.set(request_id)
        response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


class AuditOriginMiddleware:
    """Every audit entry recorded while a request is served carries its address and user agent.

    The origin lives in a context variable for the request's duration only
    (``core.audit.context``): services record it without being handed the request.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with request_origin(request):
            return self.get_response(request)


class TenantMiddleware(TenantMainMiddleware):
    """django-tenants' host routing, with host names compared the way DNS compares them.

    django-tenants looks the raw Host header up (so ``ACME.localhost`` or
    ``acme.localhost.`` found no firm) and answers a host outside ALLOWED_HOSTS
    with an empty 404. Here the host is lower-cased without its trailing dot,
    and a disallowed host is left to Django: 400 and a django.security log line.
    """

    @staticmethod
    def hostname_from_request(request: HttpRequest) -> str:
        domain, _port = split_domain_port(request.get_host())
        return remove_www(domain)

    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        request.get_host()  # raises DisallowedHost before django-tenants can swallow it
        # The not-found page of an unknown host is made here, before LocaleMiddleware: in the
        # visitor's language (cookie, browser), not in whatever the process's previous request used.
        translation.activate(translation.get_language_from_request(request))
        hostname = self.hostname_from_request(request)
        # Cached per process and checked against the routing version in the same statement
        # that sets the firm's search_path (tenants.routing): one round trip, never stale.
        tenant = tenant_for_host(hostname)
        if tenant is None:
            tenant_connection().set_schema_to_public()
            response: HttpResponse | None = self.no_tenant_found(request, hostname)  # type: ignore[attr-defined]
            return response
        tenant.domain_url = hostname
        request.tenant = tenant  # type: ignore[attr-defined]
        self.setup_url_routing(request)  # type: ignore[attr-defined]
        return None


def _schema_incomplete(request: HttpRequest, schema: str, problems: list[str]) -> HttpResponse:
    """A firm's schema lacking a tenant table would be served public's copy: serve nothing instead."""
    logger.error("refusing requests for %s: %s", schema, "; ".join(problems))
    message = "This firm's site is unavailable; the operator has been told."
    if is_api_request(request):
        return api_error_response(status=503, code="unavailable", message=message)
    return HttpResponse(message, status=503, content_type="text/plain")


class TenantStatusMiddleware:
    """A suspended or offboarding firm gets a clear page (API: JSON 403) and no data.

    First, a firm's schema is checked to hold every tenant table (``tenants.schema_check``,
    once per process): without one, the firm would be served public's table of that name.

    Runs straight after django-tenants has picked the schema and before sessions,
    so not even a session row is read for a firm that is not active.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        tenant = getattr(request, "tenant", None)
        if tenant is not None and tenant.kind == "firm" and (problems := schema_verified(tenant.schema_name)):
            return _schema_incomplete(request, tenant.schema_name, problems)
        if tenant is None or tenant.kind != "firm" or tenant.status == "active":
            return self.get_response(request)
        if is_api_request(request):
            return api_error_response(status=403, code="firm_suspended", message="This firm's account is suspended.")
        return render(request, "suspended.html", {"firm_name": tenant.name}, status=403)
