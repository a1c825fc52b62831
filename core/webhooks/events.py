"""The events Portico sends, what each one's ``data`` holds, and ``event_emit`` (the outbox).

A payload carries ids and references an integration needs to fetch the rest
through the API (``/api/v1/...``) — never names, emails, answers or amounts of
anyone's personal data beyond what the firm's books already show (amounts in
minor units with their currency). Every event's body is
``{"type": ..., "timestamp": ..., "data": {...}}``.

==========================  ======================================================================
event                       data
==========================  ======================================================================
``matter.opened``           matter, reference, matter_type, client (the client's user id)
``matter.stage_changed``    matter, reference, from (stage code or null), to (stage code)
``intake.completed``        matter, reference
``document.uploaded``       document, matter, reference, requirement, slot, version, content_type, size
``document.reviewed``       document, matter, reference, requirement, decision (accept/reject), reason
``invoice.issued``          invoice, number, matter, reference, total_minor, currency, due_on
``invoice.paid``            invoice, number, matter, reference, total_minor, currency
``payment.succeeded``       payment, purpose (invoice/retainer), method, matter, reference,
                            amount_minor, currency, invoice and number (invoice payments only)
``payment.refunded``        payment (the online payment), matter, reference, amount_minor (this
                            refund), refunded_minor (in all), currency
``trust.deposited``         deposit, matter, reference, client, amount_minor, currency, method, cleared
``trust.low_balance``       matter, reference, client, balance_minor, threshold_minor, currency
``grant.expired``           grant, matter, reference, grantee (the outside counsel's user id)
==========================  ======================================================================
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from core.models import WebhookDelivery, WebhookEndpoint, WebhookEvent

EVENT_TYPES = (
    "matter.opened",
    "matter.stage_changed",
    "intake.completed",
    "document.uploaded",
    "document.reviewed",
    "invoice.issued",
    "invoice.paid",
    "payment.succeeded",
    "payment.refunded",
    "trust.deposited",
    "trust.low_balance",
    "grant.expired",
)


QUEUED_MARK_SECONDS = 60  # how long "a task is queued" stands; a task lost meanwhile is sent again by the sweep


def endpoints_queue(endpoints: list[WebhookEndpoint]) -> None:
    """Send each endpoint's delivery task (once the caller's transaction has committed), unless one waits already.

    The mark (in the cache, per firm) stands from the send until the task
    starts; a task that has started will see what was committed before it did,
    so at a steady flow of events one task per endpoint is queued, not one per event.
    """
    from core.tasks import webhook_deliver

    for endpoint in {endpoint.pk: endpoint for endpoint in endpoints}.values():
        if not _cache_is_shared():
            # Without Redis each process has a cache of its own: the worker could never take the sender's mark
            # down, and every event after the first would wait for the sweep. One task per event, then.
            webhook_deliver.apply_async(args=(endpoint.pk, None), queue=settings.PORTICO_WEBHOOKS_QUEUE)
            continue
        mark = f"webhooks:queued:{endpoint.pk}:{endpoint.created.timestamp()}"
        if cache.add(mark, 1, QUEUED_MARK_SECONDS):
            webhook_deliver.apply_async(args=(endpoint.pk, mark), queue=settings.PORTICO_WEBHOOKS_QUEUE)


def _cache_is_shared() -> bool:
    """Whether the web processes and the workers see one cache (Redis), so that a mark one sets another sees."""
    return "redis" in str(settings.CACHES["default"]["BACKEND"]).lower()


def endpoint_task_started(mark: str | None) -> None:
    """The task the mark stood for has started: the next event sends a task again."""
    if mark is not None:
        cache.delete(mark)


def event_emit(*, type: str, data: dict[str, Any]) -> WebhookEvent | None:
    """The event in the outbox, in the caller's transaction; None when no endpoint wants it."""
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event {type!r}: add it to EVENT_TYPES and document its data")
    endpoints = [endpoint for endpoint in WebhookEndpoint.objects.filter(active=True) if endpoint.wants(type)]
    if not endpoints:
        return None
    event = WebhookEvent.objects.create(
        event_id=f"msg_{secrets.token_hex(12)}",
        type=type,
        payload=json.loads(json.dumps({"type": type, "data": data}, cls=DjangoJSONEncoder)),
    )
    now = timezone.now()
    WebhookDelivery.objects.bulk_create(
        [WebhookDelivery(event=event, endpoint=endpoint, next_attempt_at=now) for endpoint in endpoints]
    )
    transaction.on_commit(lambda: endpoints_queue(endpoints))
    return event
