"""Views every firm's site has: the signed-in home page, health and readiness."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET


@login_required
def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_staff:
        return redirect("portal:client_matters")  # clients and outside counsel start at their matters
    from core.dashboard import dashboard_panels

    roles = sorted(request.user.groups.values_list("name", flat=True))
    panels = dashboard_panels(request.user)
    return render(request, "home.html", {"firm": request.tenant, "roles": roles, "panels": panels})  # type: ignore[attr-defined]


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # readiness reports any database failure as not ready
        return JsonResponse({"status": "database unavailable"}, status=503)
    return JsonResponse({"status": "ready"})


def public_home(request: HttpRequest) -> HttpResponse:
    return render(request, "public_home.html")
