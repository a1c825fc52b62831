"""URLs on the bare base domain (public schema): core's, and Stripe's shared webhook endpoint."""

from django.urls import path

from core.urls_public import handler400, handler403, handler404, handler500
from core.urls_public import urlpatterns as core_patterns
from portal.views import stripe_webhook

urlpatterns = [
    *core_patterns,
    path("stripe/webhook/", stripe_webhook.stripe_webhook, name="stripe_webhook"),
]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
