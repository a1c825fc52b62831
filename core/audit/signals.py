"""Sign-ins, failed sign-ins and sign-outs, recorded from Django's auth signals."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from core.audit.actions import AuditAction
from core.audit.services import audit_record
from tenants.db import current_schema

if TYPE_CHECKING:
    from core.models import User


def _in_a_firm() -> bool:
    # The public schema has no users and no log (auth is a tenant app).
    return current_schema() != "public"


@receiver(user_logged_in, dispatch_uid="audit_login")
def record_login(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    if _in_a_firm():
        audit_record(AuditAction.AUTH_LOGIN, actor=user, target=user)


@receiver(user_login_failed, dispatch_uid="audit_login_failed")
def record_login_failure(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    """Django has already masked the password in ``credentials``; only the attempted email is kept."""
    if _in_a_firm():
        attempted = credentials.get("username") or credentials.get("email") or ""
        audit_record(AuditAction.AUTH_LOGIN_FAILED, data={"email": str(attempted)[:254]})


@receiver(user_logged_out, dispatch_uid="audit_logout")
def record_logout(sender: Any, request: HttpRequest | None, user: User | None, **kwargs: Any) -> None:
    if user is not None and _in_a_firm():
        audit_record(AuditAction.AUTH_LOGOUT, actor=user, target=user)
