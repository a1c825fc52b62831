"""Access tokens of the firm's integrations: issued and revoked by a firm admin, each bound to one staff member.

A token is a django-oauth-toolkit ``AccessToken`` with its own ``Application``
(the integration's label, the staff member it acts as), in the firm's schema.
Its text is shown once, at issue, and stored as its SHA-256 only
(``COMPLIANT_BCP_RFC9700_TOKEN_STORAGE``). It expires, carries scopes
(``OAUTH2_PROVIDER["SCOPES"]``; ``api.scopes`` maps views to them), and never
reaches more than its user's role: requests made with it are that user's.
Revoking deletes the token, so it answers 401 from then on; the audit log keeps
its issue, every use and the revocation.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, QuerySet
from django.http import Http404
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application, set_token_value

from core.access import object_id, signed_in
from core.audit.actions import AuditAction
from core.audit.models import AuditEntry
from core.audit.services import audit_record
from core.models import User
from core.roles import MANAGE_FIRM_SETTINGS

PREFIX = "pat_"
LABEL_MAX = 100


def all_scopes() -> dict[str, str]:
    return cast("dict[str, str]", settings.OAUTH2_PROVIDER["SCOPES"])


def may_manage_tokens(user: object) -> bool:
    return isinstance(user, User) and signed_in(user) and user.is_staff and user.has_perm(MANAGE_FIRM_SETTINGS)


def integrations_for_admin(user: object) -> QuerySet[Application]:
    """The firm's token applications, for a firm admin; Http404 for anyone else (the page does not exist for them)."""
    if not may_manage_tokens(user):
        raise Http404("No such page.")
    # An integration's application (core.integrations) is listed on its own page, not as a personal token.
    found: QuerySet[Application] = (
        Application.objects.filter(integration__isnull=True).select_related("user").prefetch_related("accesstoken_set")
    )
    return found.order_by("-created")


def integration_for_admin(user: object, application_id: object) -> Application:
    found = integrations_for_admin(user).filter(pk=object_id(application_id, "token")).first()
    if found is None:
        raise Http404("No such token.")
    return found


@dataclass(frozen=True)
class IssuedToken:
    application: Application
    token: AccessToken
    text: str  # shown once; only its SHA-256 is stored


@transaction.atomic
def token_issue(*, user: User, label: str, scopes: Collection[str], days: int, by: User) -> IssuedToken:
    """A new token acting as ``user`` with ``scopes`` for ``days`` days; ValidationError naming the field otherwise."""
    label = label.strip()
    unknown = sorted(set(scopes) - set(all_scopes()))
    errors: dict[str, str] = {}
    if not label or len(label) > LABEL_MAX:
        errors["label"] = f"Give the token a name of at most {LABEL_MAX} characters."
    if not scopes or unknown:
        errors["scopes"] = f"Unknown scopes: {', '.join(unknown)}." if unknown else "Choose at least one scope."
    if not 1 <= days <= settings.PORTICO_API_TOKEN_MAX_DAYS:
        errors["days"] = f"A token lasts from 1 to {settings.PORTICO_API_TOKEN_MAX_DAYS} days."
    if not (user.is_active and user.is_staff):
        errors["user"] = "A token acts as an active staff member of the firm."
    if errors:
        raise ValidationError(errors)
    application = Application.objects.create(
        name=label,
        user=user,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
    )
    text = PREFIX + secrets.token_urlsafe(32)
    token = AccessToken(
        user=user,
        application=application,
        scope=" ".join(sorted(set(scopes))),
        expires=timezone.now() + timedelta(days=days),
    )
    set_token_value(token, text)
    token.save()
    audit_record(
        AuditAction.API_TOKEN_ISSUED,
        actor=by,
        target=application,
        data={
            "credential": label,
            "user": user.email,
            "scopes": sorted(set(scopes)),
            "expires": token.expires.isoformat(),
        },
    )
    return IssuedToken(application=application, token=token, text=text)


@transaction.atomic
def token_revoke(*, application: Application, by: User) -> None:
    """The token stops working at once (401); the entry in the audit log keeps who revoked which."""
    owner = application.user
    audit_record(
        AuditAction.API_TOKEN_REVOKED,
        actor=by,
        target=application,
        data={"credential": application.name, "user": owner.email if owner is not None else ""},
    )
    application.delete()  # with its access tokens


def tokens_last_used(applications: Collection[Application]) -> dict[int, datetime]:
    """When each token was last used, from the audit log's ``api_token.used`` entries (one query)."""
    rows = (
        AuditEntry.objects.filter(
            action=AuditAction.API_TOKEN_USED,
            target_type="oauth2_provider.application",
            target_id__in=[str(application.pk) for application in applications],
        )
        .values("target_id")
        .annotate(last=Max("created"))
    )
    return {int(row["target_id"]): row["last"] for row in rows}


def token_used(
    *, token: AccessToken, scope: str, allowed: bool, method: str, path: str, client: str | None = None
) -> None:
    """Every request made with a token, refused for its scope or not, is in the audit log as its user's.

    An integration's token (client-credentials grant, ``core.integrations``) also names its client id."""
    data: dict[str, object] = {
        "credential": token.application.name if token.application else "",
        "scope": scope,
        "allowed": allowed,
        "method": method,
        "path": path[:200],
    }
    if client is not None:
        data["client"] = client
    audit_record(AuditAction.API_TOKEN_USED, actor=token.user, target=token.application, data=data)
