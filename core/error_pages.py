"""The product's own error pages: 400, 403, 404 and 500, in the person's language with the firm's name.

They are shown whatever ``DEBUG`` says (``portico up`` runs with DEBUG on, and
its users are not developers): Django's handlers (``handler404`` … in
``core.urls``) cover DEBUG off, and ``ErrorPagesMiddleware`` covers what DEBUG
would otherwise answer with Django's yellow technical pages — a view raising
``Http404`` or an unexpected exception, and a path no URL matches. An unknown
host gets the 404 page too (django-tenants' ``DEFAULT_NOT_FOUND_TENANT_VIEW``).
Under ``/api/`` on a firm's site the same faults answer in the API's error
shape (``core.errors``). A server error is logged with its traceback first
(``django.request``), so developers still see it in the console and Sentry.

The 500 page must render when the database does not answer: it reads the firm
from the request (loaded before the fault) and the language from what the
request already knows, and falls back to a static bilingual page if rendering
fails.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import Resolver404, resolve
from django.utils import translation

from core.errors import api_error_response, is_api_request

logger = logging.getLogger("django.request")
SUPPORTED = frozenset(code for code, _name in settings.LANGUAGES)
API_ERRORS = {
    400: ("bad_request", "The request could not be understood."),
    403: ("permission_denied", "You may not do this."),
    404: ("not_found", "Not found."),
    500: ("server_error", "Something went wrong on our side. Please try again in a few minutes."),
}
LAST_RESORT = (
    '<!doctype html><html lang="en"><meta charset="utf-8"><title>Error · Portico</title>'
    "<h1>Something went wrong</h1><p>Please try again in a few minutes.</p>"
    '<h1 lang="es">Algo salió mal</h1><p lang="es">Por favor, inténtelo de nuevo en unos minutos.</p></html>'
)


def _firm(request: HttpRequest) -> object | None:
    tenant = getattr(request, "tenant", None)
    return tenant if getattr(tenant, "kind", None) == "firm" else None


def _language(request: HttpRequest) -> str:
    """The signed-in person's preference if already known, else what the request chose (cookie, ?lang=, browser)."""
    user = getattr(request, "_cached_user", None)  # never a database read: the 500 page may be about the database
    preferred = getattr(user, "preferred_language", "")
    if preferred in SUPPORTED:
        return str(preferred)
    chosen = getattr(request, "LANGUAGE_CODE", "")
    if chosen in SUPPORTED:
        return str(chosen)
    return translation.get_language_from_request(request) or settings.LANGUAGE_CODE


def error_page(request: HttpRequest, status: int) -> HttpResponse:
    if is_api_request(request) and _firm(request) is not None:
        code, message = API_ERRORS[status]
        return api_error_response(status=status, code=code, message=message)
    firm = _firm(request)
    context = {"firm_name": getattr(firm, "name", "") or "Portico", "on_firm_site": firm is not None}
    try:
        with translation.override(_language(request)):
            return HttpResponse(render_to_string(f"{status}.html", context, request=request), status=status)
    except Exception:  # the error page itself failed (a template, the database): never a second traceback
        if status != 500:
            raise
        logger.exception("the 500 page could not be rendered")
        return HttpResponse(LAST_RESORT, status=500)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_page(request, 400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_page(request, 403)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_page(request, 404)


def server_error(request: HttpRequest) -> HttpResponse:
    return error_page(request, 500)


class ErrorPagesMiddleware:
    """Answers a view's Http404, PermissionDenied and unexpected exception, and an unmatched path, with the
    product's page, with DEBUG on as off (with DEBUG off Django would call the same handlers).

    Sits inside CommonMiddleware, so a path that only lacks its trailing slash is still redirected.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.DEBUG:
            try:
                resolve(request.path_info, getattr(request, "urlconf", None))
            except Resolver404:
                return not_found(request)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, Http404):
            return not_found(request)
        if isinstance(exception, PermissionDenied):
            return permission_denied(request)
        if not settings.DEBUG:
            return None  # Django logs it and calls handler500, which is ``server_error``
        context = {"status_code": 500, "request": request}
        logger.error("Internal Server Error: %s", request.path, exc_info=exception, extra=context)
        return server_error(request)
