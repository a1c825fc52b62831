"""The token endpoint of integrations: the OAuth 2.0 client-credentials grant, on the firm's own subdomain.

``POST /api/v1/oauth/token/`` with ``grant_type=client_credentials`` and the
client's id and secret (HTTP Basic, or in the form body), and optionally
``scope``: a bearer token for the API, in the usual OAuth JSON
(``access_token``, ``token_type``, ``expires_in``, ``scope``), and errors as
RFC 6749 §5.2 has them (``{"error": "invalid_client"}``, 401), not in the
API's own error shape, which OAuth client libraries would not read.

django-oauth-toolkit answers, with ``IntegrationValidator`` holding it to the
rules of ``core.integrations``: only a registered integration's client (never a
personal token's application), only while its admin may act, only the
integration's scopes (all of them when none is asked for), and the token acts
as the admin who registered it. Applications live in the firm's schema, so
another firm's client id is ``invalid_client`` here.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from oauth2_provider.models import AccessToken
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.views import TokenView

from core.integrations import integration_may_act, integration_of, integration_token_issued

GRANT = "client_credentials"


class IntegrationValidator(OAuth2Validator):  # type: ignore[misc]  # the library is untyped
    def authenticate_client(self, request: Any, *args: Any, **kwargs: Any) -> bool:
        if not super().authenticate_client(request, *args, **kwargs):
            return False
        integration = integration_of(request.client)
        return integration is not None and integration_may_act(integration)

    def validate_scopes(self, client_id: str, scopes: list[str], client: Any, request: Any, *a: Any, **k: Any) -> bool:
        integration = integration_of(client)
        return integration is not None and set(scopes) <= set(integration.scopes)

    def get_default_scopes(self, client_id: str, request: Any, *args: Any, **kwargs: Any) -> list[str]:
        integration = integration_of(request.client)
        return list(integration.scopes) if integration is not None else []

    def _create_access_token(self, expires: Any, request: Any, token: Any, source_refresh_token: Any = None) -> Any:
        request.user = request.client.user  # the admin who registered it (the library leaves it empty for this grant)
        access_token: AccessToken = super()._create_access_token(expires, request, token, source_refresh_token)
        integration_token_issued(token=access_token)
        return access_token


class IntegrationTokenView(TokenView):  # type: ignore[misc]  # the library is untyped
    validator_class = IntegrationValidator

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.POST.get("grant_type") != GRANT:  # the one grant an integration has
            body = {"error": "unsupported_grant_type", "error_description": f"Only {GRANT} is supported here."}
            return HttpResponse(json.dumps(body), status=400, content_type="application/json")
        response: HttpResponse = self.authorization_flow_token_response(request)
        return response
