"""Self-service password reset: ask by email on the firm's site, get a single-use link that soon expires.

* ``password_reset_request(*, email) -> bool`` — what the form does: the same for an email
  that has an account here and one that does not (no account enumeration), so the answer
  and the work done while the person waits are the same: count the request against the
  limits, audit it (``auth.reset_requested``, with the email typed) and queue
  ``core.tasks.send_password_reset`` after the commit. False when a limit is reached
  (``auth.reset_throttled``; nothing is queued).
* ``password_reset_send(*, email) -> bool`` — the task's body, in the worker: an active user
  of this firm (the task runs in the firm's schema) with that email is emailed a link in
  their language (``auth.reset_sent``); anyone else, nothing.
* ``reset_tokens`` — the links' tokens: Django's token generator with its own salt (an
  invitation's token is not a reset token) and lifetime (``PORTICO_PASSWORD_RESET_SECONDS``,
  an hour); a token stops working once the password changes (it is single-use), once the
  person signs in, and when the account is deactivated.

Limits, per firm, over ``PORTICO_PASSWORD_RESET_WINDOW_SECONDS`` (an hour), in the cache
(Redis): ``PORTICO_PASSWORD_RESET_PER_EMAIL`` requests for one email (3), counted whether
or not it has an account, and ``PORTICO_PASSWORD_RESET_PER_ADDRESS`` from one client
address (20).

A reset changes the password only: two-factor stays on (the next sign-in asks for the
code) and django-axes' sign-in lockout is left as it is (the new password waits out the
cool-off like the old one). Django signs out the person's other sessions when the
password changes.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import base36_to_int, urlsafe_base64_encode

from core.audit.actions import AuditAction
from core.audit.context import current_origin
from core.audit.services import audit_record
from core.auth.emails import password_reset_email
from core.auth.lockout import normalised_email
from core.mail import firm_link
from core.models import User


class ResetTokenGenerator(PasswordResetTokenGenerator):
    key_salt = "portico.auth.password_reset"

    def _make_hash_value(self, user: User, timestamp: int) -> str:
        return f"{super()._make_hash_value(user, timestamp)}{user.is_active}"

    def check_token(self, user: User | None, token: str | None) -> bool:
        if user is None or token is None or not super().check_token(user, token):
            return False
        try:
            issued = base36_to_int(token.split("-")[0])
        except ValueError:
            return False
        return self._num_seconds(self._now()) - issued <= settings.PORTICO_PASSWORD_RESET_SECONDS


reset_tokens = ResetTokenGenerator()


def throttle_keys(*, email: str, address: str) -> tuple[str, str]:
    """The cache keys the limits count under (the email only as a digest)."""
    digest = hashlib.sha256(normalised_email(email).encode()).hexdigest()
    return f"password-reset:email:{digest}", f"password-reset:address:{address}"


def _count(key: str) -> int:
    window = settings.PORTICO_PASSWORD_RESET_WINDOW_SECONDS
    cache.add(key, 0, timeout=window)
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        return 1


def password_reset_request(*, email: str) -> bool:
    email = normalised_email(email)
    by_email, by_address = throttle_keys(email=email, address=current_origin().ip)
    over_email = _count(by_email) > settings.PORTICO_PASSWORD_RESET_PER_EMAIL
    over_address = _count(by_address) > settings.PORTICO_PASSWORD_RESET_PER_ADDRESS
    if over_email or over_address:
        audit_record(
            AuditAction.AUTH_RESET_THROTTLED,
            data={"email": email[:254], "limit": "email" if over_email else "address"},
        )
        return False
    audit_record(AuditAction.AUTH_RESET_REQUESTED, data={"email": email[:254]})
    from core.tasks import send_password_reset

    transaction.on_commit(lambda: send_password_reset.delay(email))
    return True


def password_reset_link(*, user: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    path = reverse(
        "password_reset_confirm",
        kwargs={"uidb64": uid, "token": reset_tokens.make_token(user)},
        urlconf=settings.ROOT_URLCONF,
    )
    return firm_link(f"{path}?lang={user.preferred_language or 'en'}")


def password_reset_send(*, email: str) -> bool:
    user = User.objects.filter(email__iexact=email, is_active=True).first()
    if user is None:
        return False
    minutes = max(1, settings.PORTICO_PASSWORD_RESET_SECONDS // 60)
    password_reset_email(user=user, link=password_reset_link(user=user), minutes=minutes)
    audit_record(AuditAction.AUTH_RESET_SENT, target=user)
    return True
