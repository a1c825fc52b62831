"""The language a page is shown in: the signed-in person's stored preference, and the switch that changes it.

Django's LocaleMiddleware picks a language from the cookie or the browser;
``PreferredLanguageMiddleware`` (after authentication) overrides it with the
signed-in user's ``preferred_language``, so a client's portal, and the emails
sent to them, are in their language on any device. ``?lang=es`` on any link
(the invitation email carries it) chooses the language before sign-in and is
remembered in the language cookie.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_tenants.utils import get_public_schema_name

from core.audit.actions import AuditAction
from core.audit.services import audit_record

SUPPORTED = frozenset(code for code, _name in settings.LANGUAGES)


def _remember(response: HttpResponse, language: str) -> None:
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=365 * 24 * 3600,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
    )


class PreferredLanguageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        asked = request.GET.get("lang", "")
        # The public site has no users (nor a session table): only a firm's site looks one up.
        tenant = getattr(request, "tenant", None)
        on_firm_site = tenant is not None and tenant.schema_name != get_public_schema_name()
        user = getattr(request, "user", None) if on_firm_site else None
        if asked in SUPPORTED:
            language = asked
        elif user is not None and user.is_authenticated and user.preferred_language in SUPPORTED:
            language = user.preferred_language
        else:
            language = ""
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        response = self.get_response(request)
        if asked in SUPPORTED:
            _remember(response, asked)
        return response


@require_POST
def language_set(request: HttpRequest) -> HttpResponse:
    """Switch the language; a signed-in person's choice is stored as their preference (and audited)."""
    language = request.POST.get("language", "")
    back = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        back = "/"
    response = HttpResponseRedirect(back)
    if language not in SUPPORTED:
        return response
    user = request.user
    if user.is_authenticated and user.preferred_language != language:
        before = user.preferred_language
        user.preferred_language = language
        user.save(update_fields=["preferred_language"])
        audit_record(
            AuditAction.USER_LANGUAGE_CHANGED,
            actor=user,
            target=user,
            data={"from": before, "to": language},
        )
    _remember(response, language)
    return response
