"""Integrations a firm admin registered: an OAuth client (client-credentials grant) and the scopes it may ask for.

The client itself is django-oauth-toolkit's ``Application`` (in the firm's
schema, its secret stored hashed); this row marks it as an integration (a
personal access token's ``Application`` has none) and holds its scopes, which
the library's application model has no field for. ``core.integrations`` owns
the rules.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Integration(models.Model):
    application = models.OneToOneField(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL, on_delete=models.CASCADE, related_name="integration"
    )
    scopes = models.JSONField(default=list, help_text="The scopes its tokens may carry (OAUTH2_PROVIDER['SCOPES']).")
    created = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"integration {self.application.name}"
