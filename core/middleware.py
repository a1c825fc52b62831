"""Request middleware: request ids, and refusing service to firms that are not active."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from core.logging import request_id_var

Handler = Callable[[HttpRequest], HttpResponse]


class RequestIdMiddleware:
    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if 8 <= len(incoming) <= 64 and incoming.isascii() else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response


class TenantStatusMiddleware:
    """A suspended or offboarding firm gets a clear page (API: JSON 403) and no data.

    Runs straight after django-tenants has picked the schema and before sessions,
    so not even a session row is read for a firm that is not active.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        tenant = getattr(request, "tenant", None)
        if tenant is None or tenant.kind != "firm" or tenant.status == "active":
            return self.get_response(request)
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": "This firm's account is suspended."}, status=403)
        return render(request, "suspended.html", {"firm_name": tenant.name}, status=403)
