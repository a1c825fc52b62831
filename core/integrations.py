"""Integrations of the firm: OAuth clients a firm admin registers, which get tokens by the client-credentials grant.

An integration is a django-oauth-toolkit ``Application`` (confidential,
client-credentials only) with an ``Integration`` row holding the scopes it was
granted, all in the firm's schema: a client id of firm A is unknown on firm B.
Its secret is shown once, at registration, and stored hashed
(``hash_client_secret``). The token endpoint (``api.oauth``) issues it tokens.

How far a token reaches (the service identity): the application's user is the
admin who registered it, and every token it gets acts as that admin, so roles
and accessors decide each request as for the admin's own session; the token's
scopes are at most the integration's (asked for or, when none is asked for,
all of them), and the integration acts only while that admin is an active
firm admin (``integration_may_act``: checked at the token endpoint and on
every request), so demoting or deactivating the admin stops it at once.

Revoking deletes the application, and its tokens with it (401 from the next
request); the audit log keeps the registration, each token issued, every use
(``core.api_tokens.token_used``, as for personal tokens) and the revocation.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import AccessToken, Application

from core.access import object_id
from core.api_tokens import LABEL_MAX, all_scopes, may_manage_tokens, tokens_last_used
from core.audit.actions import AuditAction
from core.audit.services import audit_record
from core.models import Integration, User


def integrations_for_admin(user: object) -> QuerySet[Integration]:
    """The firm's integrations, for a firm admin; Http404 for anyone else (the page does not exist for them)."""
    if not may_manage_tokens(user):
        raise Http404("No such page.")
    found: QuerySet[Integration] = Integration.objects.select_related("application", "application__user")
    return found.order_by("-created", "-pk")


def integration_for_admin(user: object, integration_id: object) -> Integration:
    found = integrations_for_admin(user).filter(pk=object_id(integration_id, "integration")).first()
    if found is None:
        raise Http404("No such integration.")
    return found


def integration_of(application: object) -> Integration | None:
    """The integration an OAuth application belongs to; None for a personal token's application."""
    if not isinstance(application, Application):
        return None
    try:
        return application.integration  # type: ignore[no-any-return]  # the reverse one-to-one
    except Integration.DoesNotExist:
        return None


def integration_may_act(integration: Integration) -> bool:
    """Only while the admin who registered it is still an active firm admin."""
    return may_manage_tokens(integration.application.user)


@dataclass(frozen=True)
class RegisteredIntegration:
    integration: Integration
    client_id: str
    client_secret: str  # shown once; only its hash is stored


@transaction.atomic
def integration_register(*, name: str, scopes: Collection[str], by: User) -> RegisteredIntegration:
    """A new integration acting as ``by`` (a firm admin) within ``scopes``; ValidationError naming the field."""
    name = name.strip()
    unknown = sorted(set(scopes) - set(all_scopes()))
    errors: dict[str, str] = {}
    if not name or len(name) > LABEL_MAX:
        errors["name"] = f"Give the integration a name of at most {LABEL_MAX} characters."
    if not scopes or unknown:
        errors["scopes"] = f"Unknown scopes: {', '.join(unknown)}." if unknown else "Choose at least one scope."
    if not may_manage_tokens(by):
        errors["user"] = "Only a firm admin registers integrations."
    if errors:
        raise ValidationError(errors)
    secret = generate_client_secret()
    application = Application.objects.create(
        name=name,
        user=by,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        client_secret=secret,
        hash_client_secret=True,
    )
    granted = sorted(set(scopes))
    integration = Integration.objects.create(application=application, scopes=granted)
    audit_record(
        AuditAction.INTEGRATION_REGISTERED,
        actor=by,
        target=application,
        data={"credential": name, "client": application.client_id, "scopes": granted},
    )
    return RegisteredIntegration(integration=integration, client_id=application.client_id, client_secret=secret)


@transaction.atomic
def integration_revoke(*, integration: Integration, by: User) -> None:
    """The client can no longer get tokens, and the tokens it has stop working at once (401)."""
    application = integration.application
    audit_record(
        AuditAction.INTEGRATION_REVOKED,
        actor=by,
        target=application,
        data={
            "credential": application.name,
            "client": application.client_id,
            "tokens": AccessToken.objects.filter(application=application).count(),
        },
    )
    application.delete()  # with its integration row and every token


def integration_token_issued(*, token: AccessToken) -> None:
    """The token endpoint issued a token to an integration (its scopes and expiry; never its text)."""
    application = token.application
    audit_record(
        AuditAction.INTEGRATION_TOKEN_ISSUED,
        actor=token.user,
        target=application,
        data={
            "credential": application.name if application else "",
            "client": application.client_id if application else "",
            "scopes": token.scope.split(),
            "expires": token.expires.isoformat(),
        },
    )


def integrations_last_used(integrations: Collection[Integration]) -> dict[int, datetime]:
    """When each integration's tokens were last used (by integration id), from the audit log."""
    by_application = tokens_last_used([integration.application for integration in integrations])
    return {
        integration.pk: by_application[integration.application_id]
        for integration in integrations
        if integration.application_id in by_application
    }
