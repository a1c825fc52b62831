"""Background work of online payments: a signed Stripe event applied in its firm. Thin: call the service, retry."""

from __future__ import annotations

from typing import Any

from core.celery import PorticoTask, app

# Back-off of a retry, doubling from 5 s up to 10 minutes; about a day of retries in all, like Stripe's own.
RETRY_FIRST_SECONDS = 5
RETRY_MAX_SECONDS = 600
MAX_RETRIES = 150


def retry_countdown(retries: int) -> int:
    return int(min(RETRY_MAX_SECONDS, RETRY_FIRST_SECONDS * 2 ** min(retries, 10)))


# acks_late: a worker that dies mid-event leaves the message on the broker; the redelivered event
# finds its id if the first run committed, so it changes nothing twice.
@app.task(bind=True, max_retries=MAX_RETRIES, acks_late=True, reject_on_worker_lost=True)
def stripe_event_process(self: PorticoTask, event: dict[str, Any]) -> str:
    """Apply one verified Stripe event in the firm the endpoint pinned it to (``billing.stripe.webhooks``)."""
    from django.db import DatabaseError

    from billing.stripe.gateway import GatewayError
    from billing.stripe.webhooks import RetryLater, event_process

    try:
        return event_process(event)
    except (GatewayError, RetryLater, DatabaseError) as exc:  # Stripe unreadable, or too early: nothing recorded
        if self.request.is_eager:
            raise  # run in the request (tests): no broker to wait on, so no retry loop; the event stays unrecorded
        raise self.retry(exc=exc, countdown=retry_countdown(self.request.retries)) from exc
