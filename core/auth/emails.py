"""Emails about a person's own account, in their language: password reset, two-factor on or off, a new browser.

Each is sent from the firm with a link to the firm's site (``core.mail``); those
that warn of a change the person may not have made end with the link to reset
their password.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC

from babel.dates import format_datetime
from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.mail import firm_link, firm_mail
from core.models import User
from tenants.db import tenant_connection


def _send(
    *, user: User, template: str, subject: Callable[[], str], fail_silently: bool = True, **context: object
) -> None:
    """``subject`` is called in the person's language (so that its msgid is written where it is used)."""
    language = user.preferred_language or "en"
    firm = tenant_connection().tenant.name
    with translation.override(language):
        values = {
            "firm": firm,
            "email": user.email,
            "when": format_datetime(timezone.now(), format="medium", tzinfo=UTC, locale=language) + " UTC",
            "reset_link": firm_link(f"{reverse('password_reset', urlconf=settings.ROOT_URLCONF)}?lang={language}"),
            **context,
        }
        body = render_to_string(f"registration/email/{template}.txt", values)
        subject_text = subject() % {"firm": firm}
    firm_mail(subject=subject_text, body=body, to=[user.email], fail_silently=fail_silently)


def password_reset_email(*, user: User, link: str, minutes: int) -> None:
    _send(
        user=user,
        template="password_reset",
        subject=lambda: _("Reset your password at %(firm)s"),
        fail_silently=False,  # the task tries again later
        link=link,
        minutes=minutes,
    )


def two_factor_changed_email(*, user: User, on: bool, by_admin: bool = False) -> None:
    if on:
        _send(user=user, template="two_factor_on", subject=lambda: _("Two-factor authentication is on at %(firm)s"))
    else:
        _send(
            user=user,
            template="two_factor_off",
            subject=lambda: _("Two-factor authentication is off at %(firm)s"),
            by_admin=by_admin,
        )


def new_browser_email(*, user: User, browser: str, address: str) -> None:
    _send(
        user=user,
        template="new_browser",
        subject=lambda: _("New sign-in to your account at %(firm)s"),
        browser=browser,
        address=address,
    )
