"""Sending an endpoint's deliveries: in order, each one while its row is locked, retried on a back-off schedule.

``endpoint_deliver_next`` is what the Celery task (``core.tasks.webhook_deliver``)
calls for one endpoint: under a lock on the endpoint's row (so one worker at a
time sends to an endpoint, in the order the events were written) it takes the
oldest pending delivery and, when it is due, makes one attempt
(``delivery_attempt``) inside the same transaction: a delivery marked
delivered is never sent again, and a worker that dies mid-attempt leaves the
delivery pending, to be sent again with the same ``webhook-id`` (receivers
deduplicate on it, as Standard Webhooks asks). A later delivery waits behind
one that is being retried.

Outcomes: 2xx delivers; 410 Gone turns the endpoint off; anything else is
retried after ``RETRY_SCHEDULE`` (or the receiver's longer ``Retry-After``),
and when the schedule is spent the endpoint is turned off. Either way the
firm's admins are told by email.
"""

from __future__ import annotations

import http.client
import json
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from standardwebhooks.webhooks import Webhook

from core.mail import firm_link, firm_mail
from core.models import User, WebhookDelivery, WebhookEndpoint, WebhookEvent
from core.roles import Role
from core.webhooks.addresses import RESPONSE_KEPT, AddressRefused, post, target_resolve
from core.webhooks.endpoints import endpoint_disable, endpoint_secrets

# Seconds before attempt 2, 3, ...: the Standard Webhooks suggestion, about 3 days in all.
RETRY_SCHEDULE = (5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600, 24 * 3600, 24 * 3600)
RETRY_AFTER_MAX = 24 * 3600.0  # a receiver may slow us down, not park a delivery for ever
BUSY = -1.0  # another worker holds the endpoint: it carries on, and looks again once it lets go
Status = WebhookDelivery.Status


@dataclass(frozen=True)
class Attempt:
    delivered: bool
    retry_in: float | None  # seconds until the next attempt; None when there is none


def request_body(event: WebhookEvent) -> str:
    """The exact body sent (and signed) for an event, on every attempt: the delivery log shows it."""
    return json.dumps({**event.payload, "timestamp": event.created.isoformat()}, separators=(",", ":"))


def _headers(endpoint: WebhookEndpoint, event: WebhookEvent, body: str, now: datetime) -> dict[str, str]:
    signatures = [Webhook(secret).sign(event.event_id, now, body) for secret in endpoint_secrets(endpoint)]
    return {
        "content-type": "application/json",
        "webhook-id": event.event_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": " ".join(signatures),  # two during a secret's rotation
        "user-agent": "Portico-Webhooks/1",
    }


def _send(endpoint: WebhookEndpoint, event: WebhookEvent, now: datetime) -> tuple[int, str, float]:
    body = request_body(event)
    try:
        target = target_resolve(endpoint.url)
    except AddressRefused as refused:
        return 0, str(refused), 0.0
    try:
        answer = post(target, body.encode(), _headers(endpoint, event, body, now))
    except (OSError, http.client.HTTPException) as failed:
        return 0, f"{type(failed).__name__}: {failed}", 0.0
    return answer.status, answer.body, answer.retry_after


def _tell_admins(endpoint: WebhookEndpoint, why: str) -> None:
    admins = User.objects.filter(is_active=True, groups__name=Role.FIRM_ADMIN.value).exclude(email="")
    recipients = sorted(set(admins.values_list("email", flat=True)))
    if not recipients:
        return
    link = firm_link(f"/staff/webhooks/{endpoint.pk}/")
    body = _(
        "Portico turned off the webhook endpoint %(url)s: %(why)s\n\n"
        "Nothing more is sent to it. Its delivery log, and the switch to turn it back on, are at %(link)s"
    ) % {"url": endpoint.url, "why": why, "link": link}
    transaction.on_commit(
        lambda: firm_mail(subject=_("A webhook endpoint was turned off"), body=body, to=recipients, fail_silently=True)
    )


def _give_up(delivery: WebhookDelivery, why: str) -> None:
    delivery.status, delivery.next_attempt_at = Status.FAILED, None
    delivery.save()
    endpoint_disable(endpoint=delivery.endpoint, by=None, reason=why)
    _tell_admins(delivery.endpoint, why)


def delivery_attempt(*, delivery: WebhookDelivery, now: datetime | None = None) -> Attempt:
    """One signed POST of the delivery's event to its endpoint; the outcome is kept on the delivery."""
    if delivery.status != Status.PENDING:
        return Attempt(delivered=delivery.status == Status.DELIVERED, retry_in=None)
    now = now or timezone.now()
    started = time.monotonic()
    status, response, retry_after = _send(delivery.endpoint, delivery.event, now)
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.last_status_code = status or None
    delivery.last_latency_ms = int((time.monotonic() - started) * 1000)
    delivery.last_response = response[:RESPONSE_KEPT]
    if 200 <= status < 300:
        delivery.status, delivery.next_attempt_at, delivery.delivered_at = Status.DELIVERED, None, timezone.now()
        delivery.save()
        return Attempt(delivered=True, retry_in=None)
    if status == 410:
        _give_up(delivery, _("the endpoint answered 410 Gone."))
        return Attempt(delivered=False, retry_in=None)
    if delivery.attempts > len(RETRY_SCHEDULE):
        _give_up(delivery, _("%(count)s attempts over about three days failed.") % {"count": delivery.attempts})
        return Attempt(delivered=False, retry_in=None)
    retry_in = max(float(RETRY_SCHEDULE[delivery.attempts - 1]), min(retry_after, RETRY_AFTER_MAX))
    delivery.next_attempt_at = timezone.now() + timedelta(seconds=retry_in)
    delivery.save()
    return Attempt(delivered=False, retry_in=retry_in)


def endpoint_deliver_next(*, endpoint_id: int) -> float | None:
    """Send the endpoint's oldest pending delivery if it is due.

    Returns when to call again: 0 (more may be due at once), seconds (the next
    one is due then), ``BUSY`` (another worker holds the endpoint) or None
    (nothing pending when looked at under the lock: see ``endpoint_has_due``).
    """
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update(skip_locked=True).filter(pk=endpoint_id).first()
        if endpoint is None:
            return BUSY if WebhookEndpoint.objects.filter(pk=endpoint_id).exists() else None
        if not endpoint.active:
            return None
        head = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("event")
            .filter(endpoint=endpoint, status=Status.PENDING)
            .order_by("id")
            .first()
        )
        if head is None:
            return None
        head.endpoint = endpoint
        wait = (head.next_attempt_at - timezone.now()).total_seconds() if head.next_attempt_at else 0.0
        if wait > 0:
            return wait
        attempt = delivery_attempt(delivery=head)
    if attempt.delivered or attempt.retry_in is None:
        return 0.0  # delivered or given up: the next one may go now
    return attempt.retry_in


def _due(now: datetime) -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.filter(status=Status.PENDING, endpoint__active=True).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )


def endpoint_has_due(*, endpoint_id: int) -> bool:
    """Without a lock: a delivery due now? Asked by the worker that let go of the endpoint, after letting go.

    A task that found the endpoint busy ended without sending: the delivery it
    came for was committed before then, so this look, made after the lock was
    released, sees it.
    """
    return _due(timezone.now()).filter(endpoint_id=endpoint_id).exists()


def endpoints_due(*, now: datetime | None = None) -> list[int]:
    """Active endpoints with a pending delivery due (the sweep re-sends their task, should one have been lost)."""
    return sorted(set(_due(now or timezone.now()).values_list("endpoint_id", flat=True)))
