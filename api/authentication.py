"""Bearer tokens on the API (django-oauth-toolkit), each request held to the token's scopes.

``ScopedTokenAuthentication`` comes first in ``DEFAULT_AUTHENTICATION_CLASSES``
(before the session), and no API view sets its own authentication classes, so
the scope check here runs on every view whatever its permission classes. With
an ``Authorization: Bearer`` header:

* unknown (another firm's: tokens live in the firm's schema), expired or
  revoked → 401 with ``WWW-Authenticate: Bearer``; the session is not tried;
* the view's scope (``api.scopes``) missing from the token, or a view closed to
  tokens → 403;
* otherwise the request is the token's user's: roles and accessors decide as
  for a session (404 for not yours). Each use is audited (``core.api_tokens``).

An integration's token (client-credentials grant, ``api.oauth``) is the same,
its user being the admin who registered the integration; it is refused (401)
once that admin is no longer an active firm admin (``core.integrations``).
"""

from __future__ import annotations

from typing import Any

from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from oauth2_provider.models import AccessToken
from rest_framework.exceptions import AuthenticationFailed, PermissionDenied
from rest_framework.request import Request

from api.scopes import ANY_SCOPE, scope_needed
from core.api_tokens import token_used
from core.integrations import integration_may_act, integration_of


def _bearer(request: Request) -> bool:
    return str(request.META.get("HTTP_AUTHORIZATION", "")).lower().startswith("bearer ")


class ScopedTokenAuthentication(OAuth2Authentication):  # type: ignore[misc]  # the library is untyped
    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        if not _bearer(request):
            return None
        # The Django request: DOT would read a DRF request's body, and parse it before the token is checked.
        found = super().authenticate(request._request)
        if found is None:
            raise AuthenticationFailed("The access token is unknown, expired or revoked.")
        user, token = found
        if not isinstance(token, AccessToken) or user is None or not user.is_active:
            raise AuthenticationFailed("The access token is unknown, expired or revoked.")
        integration = integration_of(token.application)
        if integration is not None and not integration_may_act(integration):
            raise AuthenticationFailed("This integration's firm admin can no longer act for it: register it again.")
        view = (request.parser_context or {}).get("view")
        needed = scope_needed(view, request.method or "GET")
        allowed = needed is not None and (needed == ANY_SCOPE or token.allow_scopes([needed]))
        token_used(
            token=token,
            scope=needed or "",
            allowed=allowed,
            method=request.method or "",
            path=request.path,
            client=integration.application.client_id if integration is not None else None,
        )
        if needed is None:
            raise PermissionDenied("This endpoint does not accept access tokens.")
        if not allowed:
            raise PermissionDenied(f"This token does not have the scope {needed}.")
        return user, token
