"""A rate per access token (``PORTICO_API_TOKEN_RATE``) and a budget per firm (``PORTICO_API_FIRM_RATE``).

Both are counted in the cache (Redis): a token's requests, and all the token
requests of the firm together, so a firm's many integrations cannot starve
the others on the same servers. Over either, DRF answers 429 with
``Retry-After`` (in the one error shape, ``api.errors``). Session requests
(the staff's own browser) are not counted here. The cache keys are made per
tenant by django-tenants' key function, so "the firm" is the request's schema.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from oauth2_provider.models import AccessToken
from rest_framework.throttling import SimpleRateThrottle

if TYPE_CHECKING:  # rest_framework.views imports this module while it defines APIView
    from rest_framework.request import Request
    from rest_framework.views import APIView


class TokenRateThrottle(SimpleRateThrottle):
    scope = "token"

    def get_rate(self) -> str:
        rate: str = settings.PORTICO_API_TOKEN_RATE  # read per request, so a test's override_settings applies
        return rate

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        token = request.auth
        if not isinstance(token, AccessToken):
            return None
        return f"api-throttle:token:{token.pk}"


class FirmRateThrottle(TokenRateThrottle):
    scope = "firm"

    def get_rate(self) -> str:
        rate: str = settings.PORTICO_API_FIRM_RATE
        return rate

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        if super().get_cache_key(request, view) is None:
            return None
        return "api-throttle:firm"  # one key per tenant (django-tenants' cache key function prefixes the schema)
