"""The one shared endpoint Stripe posts events to (on the base domain, not a firm's subdomain).

It does little and answers fast: the signature is checked over the raw body
with a timestamp tolerance, the event is routed to the firm holding its
connected account (the public ``StripeAccountRoute`` directory), and
``billing.stripe.tasks.stripe_event_process`` is queued pinned to that firm,
which applies it in one transaction with its event id (``billing.stripe.webhooks``).

Answers (every refusal is logged; none has a side effect):

- 400 for a bad signature, a changed byte, a stale timestamp (older than the
  tolerance), no signature, or no secret configured: the sender cannot prove
  it is Stripe. If it is Stripe (our secret was rotated wrongly), Stripe keeps
  retrying for three days, so fixing the secret recovers the events.
- 200 ``{"outcome": "ignored"}`` for a correctly signed event whose connected
  account no firm holds (an offboarded firm, an account not made by Portico) or
  that names no account: Stripe would otherwise retry it for days and flag the
  endpoint, and no retry can ever route it. There is no firm whose audit log
  could take it, so it is only logged.
- 503 when the task cannot be queued (the broker is down): not 2xx, so Stripe
  sends the event again; nothing is lost.
- 202 ``{"outcome": "queued"}`` once the task is on the broker. Duplicates are
  queued too and change nothing: the task finds their event id.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from kombu.exceptions import OperationalError

from billing.stripe.gateway import InvalidWebhook, webhook_event_verify
from billing.stripe.tasks import stripe_event_process
from billing.stripe.webhooks import event_route

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
            "stripe webhook %s (%s) ignored: account %r belongs to no firm",
            event.get("id"),
            event.get("type"),
            event.get("account"),
        )
        return JsonResponse({"received": True, "outcome": "ignored"})
    try:
        with firm:  # stamps the firm's schema on the message
            stripe_event_process.apply_async(args=(event,), queue=settings.PORTICO_STRIPE_QUEUE)
    except OperationalError as exc:
        logger.error("stripe webhook %s not queued (broker unreachable): %s", event.get("id"), exc)
        return JsonResponse({"received": False, "error": "try again"}, status=503)
    return JsonResponse({"received": True, "outcome": "queued"}, status=202)
