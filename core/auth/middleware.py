"""Middleware that ends idle or old sessions and holds staff at the two-factor step.

Both run after django-otp's OTPMiddleware, on every request of a firm's site.
Pages answer with a redirect (to sign-in, or to the two-factor page); the API
answers JSON 401/403 instead, since a script cannot follow a sign-in page.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import Resolver404, resolve, reverse
from django_otp.middleware import is_verified
from django_tenants.utils import get_public_schema_name

from core.auth.two_factor import has_two_factor, two_factor_required
from core.errors import api_error_response, is_api_request
from core.models import User

Handler = Callable[[HttpRequest], HttpResponse]

LAST_SEEN_KEY = "portico_last_seen"
SIGNED_IN_KEY = "portico_signed_in"
# The last-seen stamp is rewritten at most this often, so a busy page does not write the session on every request.
LAST_SEEN_RESOLUTION_SECONDS = 60


def _signed_in_user(request: HttpRequest) -> User | None:
    """The signed-in user on a firm's site, else None; the public site has no sessions to look at."""
    tenant = getattr(request, "tenant", None)
    if tenant is None or tenant.schema_name == get_public_schema_name():
        return None
    user = getattr(request, "user", None)
    return user if isinstance(user, User) and user.is_authenticated else None


def _now() -> float:
    return time.time()


class SessionTimeoutMiddleware:
    """Signs out after ``PORTICO_IDLE_TIMEOUT_SECONDS`` without a request, and ``SESSION_COOKIE_AGE`` after sign-in."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = _signed_in_user(request)
        if user is None:
            return self.get_response(request)
        now = _now()
        session = request.session
        last_seen = float(session.get(LAST_SEEN_KEY, now))
        signed_in = float(session.get(SIGNED_IN_KEY, now))
        if now - last_seen > settings.PORTICO_IDLE_TIMEOUT_SECONDS or now - signed_in > settings.SESSION_COOKIE_AGE:
            logout(request)
            if is_api_request(request):
                return api_error_response(
                    status=401, code="not_authenticated", message="Your session has ended. Sign in again."
                )
            query = urlencode({"next": request.get_full_path(), "timeout": "1"})
            return HttpResponseRedirect(f"{reverse('login')}?{query}")
        if SIGNED_IN_KEY not in session:
            session[SIGNED_IN_KEY] = now
        if LAST_SEEN_KEY not in session or now - last_seen >= LAST_SEEN_RESOLUTION_SECONDS:
            session[LAST_SEEN_KEY] = now
        return self.get_response(request)


# Reachable by a signed-in staff member who has not passed two-factor yet.
TWO_FACTOR_EXEMPT_URL_NAMES = frozenset({"login", "logout", "two_factor", "two_factor_verify", "healthz", "readyz"})


class StaffTwoFactorMiddleware:
    """Staff with an authenticator enter a code before anything else; where the firm requires it, staff enrol first."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = _signed_in_user(request)
        if user is None or not user.is_staff or is_verified(user):  # django-otp's OTPMiddleware ran first
            return self.get_response(request)
        if self._exempt(request):
            return self.get_response(request)
        if has_two_factor(user):
            where, message = "two_factor_verify", "Enter the code from your authenticator app."
        elif two_factor_required(user):
            where, message = "two_factor", "Your firm requires two-factor authentication. Set it up to continue."
        else:
            return self.get_response(request)
        if is_api_request(request):
            return api_error_response(status=403, code="two_factor_required", message=message)
        return HttpResponseRedirect(f"{reverse(where)}?{urlencode({'next': request.get_full_path()})}")

    @staticmethod
    def _exempt(request: HttpRequest) -> bool:
        try:
            match = resolve(request.path_info, getattr(request, "urlconf", None))
        except Resolver404:
            return False
        return match.url_name in TWO_FACTOR_EXEMPT_URL_NAMES
