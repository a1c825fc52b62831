"""Login throttling (django-axes): who is locked out, and the page they see (HTTP 429).

Two limits, both counted in the firm's own schema over the cool-off window:

* a person at an address (email + client address) is locked after
  ``AXES_FAILURE_LIMIT`` failures (``PORTICO_LOGIN_FAILURE_LIMIT``, 5), so
  someone who forgets their password does not lock out the colleagues or other
  clients who share their office or phone network's address;
* an address is locked, for every email, after ``PORTICO_LOGIN_IP_FAILURE_LIMIT``
  failures (default ten times the per-person limit), which stops a password
  spray (one guess for each of many emails) from one place.

django-axes applies one limit to all its lockout parameters, so the handler
keeps axes' per-pair count and adds the per-address one itself.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from core.audit.request import client_ip

LOCKED_OUT_STATUS = 429


def address_failures(request: HttpRequest) -> int:
    """Failed sign-ins from the request's address, for any email, within the cool-off window."""
    address = getattr(request, "axes_ip_address", None) or client_ip(request)
    recent = AccessAttempt.objects.filter(ip_address=address, attempt_time__gte=get_cool_off_threshold(request))
    return int(recent.aggregate(total=Sum("failures_since_start"))["total"] or 0)


def address_locked(request: HttpRequest) -> bool:
    return address_failures(request) >= settings.PORTICO_LOGIN_IP_FAILURE_LIMIT


class PersonAtAddressHandler(AxesDatabaseHandler):
    """axes' database handler, locking by (email, address) and, past the looser limit, by address alone."""

    def get_failures(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
        failures = int(super().get_failures(request, credentials))  # per AXES_LOCKOUT_PARAMETERS: the pair
        if address_locked(request):
            return max(failures, int(get_failure_limit(request, credentials)))
        return failures


def lockout_response(request: HttpRequest, original_response: Any = None, credentials: Any = None) -> HttpResponse:
    minutes = max(1, round(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
    by_address = address_locked(request)
    if request.path.startswith("/api/") or request.headers.get("x-requested-with") == "XMLHttpRequest":
        message = f"Too many failed sign-in attempts. Signing in is paused for {minutes} minutes."
        return JsonResponse({"detail": message}, status=LOCKED_OUT_STATUS)
    if by_address:
        text = _(
            "Too many sign-ins failed from your network, so signing in from here is paused. "
            "Try again in %(minutes)s minutes."
        ) % {"minutes": minutes}
    else:
        text = _(
            "Signing in failed %(limit)s times, so it is paused for this account from this address. "
            "Try again in %(minutes)s minutes."
        ) % {"limit": settings.AXES_FAILURE_LIMIT, "minutes": minutes}
    return render(request, "portal/locked_out.html", {"message": text}, status=LOCKED_OUT_STATUS)


def normalised_email(raw: object) -> str:
    """One spelling per address: NFKC (as Django's sign-in form reads usernames), trimmed and case-folded.

    "alice@acme.test" in full-width letters (U+FF41...), "Alice@Acme.Test" and "alice@acme.test" are one key, so
    a lockout cannot be stepped around by spelling the email another way. NFKC runs again after
    case-folding, which can produce characters NFKC would have composed.
    """
    text = unicodedata.normalize("NFKC", str(raw or "")).strip()
    return unicodedata.normalize("NFKC", text.casefold())


def attempted_email(request: HttpRequest, credentials: dict[str, Any] | None = None) -> str:
    """The lockout key of a sign-in attempt: the email it was for (``AXES_USERNAME_CALLABLE``), normalised.

    axes asks with the credentials given to ``authenticate`` when it has them and
    with none otherwise; either way the key is the normalised email, never the raw
    form value.
    """
    raw = (credentials or {}).get("username") or request.POST.get("username", "")
    return normalised_email(raw)
