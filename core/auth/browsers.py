"""Which browsers a person signs in from, and an email when it is one they have not used before.

A browser is a long-lived random value in the signed, host-only, HTTP-only cookie
``portico_browser`` (one firm's site never sees another's). The database keeps,
per person, the SHA-256 digest of that value and the user agent it came with; a
database reader cannot forge the cookie, and a stolen cookie of one firm is unknown
at another. The user agent is not part of the identity: browsers rewrite it with
every update, which would make every update look like a new device.

On a successful password sign-in (before the two-factor step, so a stranger with
the password alone is reported too) a browser the person has not used before is
remembered and, unless it is their very first browser (their first sign-in after
the invitation), they are emailed (``core.auth.emails``) and the sign-in audited
as ``auth.new_browser``. Clearing cookies makes the browser new again.
"""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from core.audit.actions import AuditAction
from core.audit.request import client_ip, user_agent
from core.audit.services import audit_record
from core.auth.emails import new_browser_email
from core.models import KnownBrowser, User

COOKIE = "portico_browser"
_SALT = "portico.browser"
COOKIE_MAX_AGE = 400 * 24 * 3600  # the longest browsers keep a cookie (RFC 6265bis)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def browser_signed_in(*, request: HttpRequest, response: HttpResponse, user: User) -> bool:
    """Remember the browser ``request`` came from for ``user``; True when it was new to them (and they were told)."""
    value = request.get_signed_cookie(COOKIE, default=None, salt=_SALT, max_age=COOKIE_MAX_AGE)
    agent = user_agent(request)[:512]
    known = KnownBrowser.objects.filter(user=user, digest=_digest(value)) if value else None
    if known is not None and known.update(user_agent=agent, last_seen=timezone.now()):
        return False
    if not value:
        value = secrets.token_urlsafe(32)
    first = not KnownBrowser.objects.filter(user=user).exists()
    KnownBrowser.objects.create(user=user, digest=_digest(value), user_agent=agent)
    response.set_signed_cookie(
        COOKIE,
        value,
        salt=_SALT,
        max_age=COOKIE_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )
    if first:
        return False
    address = client_ip(request)
    audit_record(AuditAction.AUTH_NEW_BROWSER, actor=user, target=user, data={"user_agent": agent[:200]})
    new_browser_email(user=user, browser=agent or "?", address=address or "?")
    return True
