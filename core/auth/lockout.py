"""The answer to a sign-in while django-axes has locked it out: a clear page, HTTP 429."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

LOCKED_OUT_STATUS = 429


def lockout_response(request: HttpRequest, original_response: Any = None, credentials: Any = None) -> HttpResponse:
    minutes = max(1, round(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
    message = f"Too many failed sign-in attempts. Signing in is paused for {minutes} minutes."
    if request.path.startswith("/api/") or request.headers.get("x-requested-with") == "XMLHttpRequest":
        return JsonResponse({"detail": message}, status=LOCKED_OUT_STATUS)
    context = {"failure_limit": settings.AXES_FAILURE_LIMIT, "cooloff_minutes": minutes}
    return render(request, "portal/locked_out.html", context, status=LOCKED_OUT_STATUS)


def attempted_email(request: HttpRequest, credentials: dict[str, Any] | None = None) -> str:
    """The email a sign-in attempt was for, normalised as accounts are ("Alice@X" and "alice@x" count together)."""
    raw = (credentials or {}).get("username") or request.POST.get("username", "")
    return str(raw).strip().lower()
