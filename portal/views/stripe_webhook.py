"""The one shared endpoint Stripe posts events to (on the base domain, not a firm's subdomain).

The signature is checked over the raw body with a timestamp tolerance; the
event is routed to the firm holding its connected account and applied there
in one transaction with its event id (``billing.stripe.webhooks``). Answers:
400 for a bad, changed or stale signature and for an account no firm holds (no
side effect, logged; there is no firm whose audit log could take it), 409 for
an event that came before the one it depends on (nothing recorded: Stripe
retries it), 200 once the event is recorded, a duplicate included.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from billing.stripe.gateway import InvalidWebhook, webhook_event_verify
from billing.stripe.webhooks import RetryLater, event_apply, event_route

logger = logging.getLogger(__name__)


@csrf_exempt  # Stripe signs the body instead; no session or cookie is read here
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": "POST"})
    try:
        event = webhook_event_verify(payload=request.body, signature=request.headers.get("Stripe-Signature"))
    except InvalidWebhook as exc:
        logger.warning("stripe webhook refused: %s", exc)
        return JsonResponse({"error": "invalid signature"}, status=400)
    firm = event_route(event)
    if firm is None:
        logger.warning(
            "stripe webhook %s refused: account %r belongs to no firm", event.get("id"), event.get("account")
        )
        return JsonResponse({"error": "unknown account"}, status=400)
    with firm:
        try:
            outcome = event_apply(event)
        except RetryLater as exc:
            logger.info("stripe webhook postponed: %s", exc)
            return JsonResponse({"received": False, "outcome": "later"}, status=409)
    return JsonResponse({"received": True, "outcome": outcome})
