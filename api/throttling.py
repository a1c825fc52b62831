"""A rate per access token (``PORTICO_API_TOKEN_RATE``), counted in the cache (Redis), per firm.

Over the rate, DRF answers 429 with ``Retry-After`` (in the one error shape,
``api.errors``). Session requests (the staff's own browser) are not counted
here. The cache key is made per tenant by django-tenants' key function.
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
