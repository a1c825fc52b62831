"""Outgoing webhooks (Standard Webhooks): events written to the outbox with their change, signed deliveries, retries.

* ``event_emit`` — called by a service inside its transaction: the event row
  and one delivery per subscribed endpoint commit (or roll back) with the
  change; the delivery task is queued once the transaction has committed.
* ``endpoint_create`` / ``endpoint_disable`` — a firm admin's, audited;
  ``endpoints_for_admin`` / ``endpoint_for_admin`` reach them (404 for anyone else).
* ``delivery_attempt`` — one signed POST (``standardwebhooks``: ``webhook-id``,
  ``webhook-timestamp``, ``webhook-signature``); a 2xx delivers, anything else
  schedules the next attempt on ``RETRY_SCHEDULE`` (about 3 days in all) and
  then gives up. The endpoint's ``Retry-After``, when longer, is honoured.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from core.access import object_id, signed_in
from core.audit.actions import AuditAction
from core.audit.services import audit_record
from core.models import User, WebhookDelivery, WebhookEndpoint, WebhookEvent
from core.roles import MANAGE_FIRM_SETTINGS

# Seconds before attempt 2, 3, ...: the Standard Webhooks suggestion, about 3 days in all.
RETRY_SCHEDULE = (5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600, 24 * 3600, 24 * 3600)
RESPONSE_KEPT = 500
TIMEOUT_SECONDS = 10
EVENT_TYPES = ("matter.opened",)  # more as their services emit them (issue 14 item 4)


def may_manage_webhooks(user: object) -> bool:
    return isinstance(user, User) and signed_in(user) and user.is_staff and user.has_perm(MANAGE_FIRM_SETTINGS)


def endpoints_for_admin(user: object) -> QuerySet[WebhookEndpoint]:
    if not may_manage_webhooks(user):
        raise Http404("No such page.")
    return WebhookEndpoint.objects.order_by("-created")


def endpoint_for_admin(user: object, endpoint_id: object) -> WebhookEndpoint:
    found = endpoints_for_admin(user).filter(pk=object_id(endpoint_id, "endpoint")).first()
    if found is None:
        raise Http404("No such endpoint.")
    return found


def deliveries_for_admin(user: object, *, limit: int = 100) -> list[WebhookDelivery]:
    """The delivery log, newest first: event, endpoint, status, attempts, last status code, latency, response."""
    endpoints = endpoints_for_admin(user)
    found = WebhookDelivery.objects.filter(endpoint__in=endpoints).select_related("event", "endpoint")
    return list(found.order_by("-event__created", "-id")[:limit])


@transaction.atomic
def endpoint_create(*, url: str, events: list[str], by: User) -> WebhookEndpoint:
    """A new endpoint with a fresh signing secret; ValidationError naming the field for a bad address or event."""
    url = url.strip()
    schemes = ["https"] if settings.PRODUCTION else ["https", "http"]
    errors: dict[str, str] = {}
    try:
        URLValidator(schemes=schemes)(url)
    except ValidationError:
        errors["url"] = f"Give the endpoint's full address ({' or '.join(schemes)})."
    unknown = sorted(set(events) - set(EVENT_TYPES))
    if unknown:
        errors["events"] = f"Unknown events: {', '.join(unknown)}."
    if errors:
        raise ValidationError(errors)
    endpoint = WebhookEndpoint.objects.create(url=url, secret=endpoint_secret_new(), events=sorted(set(events)))
    audit_record(
        AuditAction.WEBHOOK_ENDPOINT_CREATED, actor=by, target=endpoint, data={"url": url, "events": endpoint.events}
    )
    return endpoint


@transaction.atomic
def endpoint_disable(*, endpoint: WebhookEndpoint, by: User) -> None:
    endpoint.active = False
    endpoint.save(update_fields=["active"])
    WebhookDelivery.objects.filter(endpoint=endpoint, status=WebhookDelivery.Status.PENDING).update(
        status=WebhookDelivery.Status.FAILED, next_attempt_at=None, last_response="The endpoint was turned off."
    )
    audit_record(AuditAction.WEBHOOK_ENDPOINT_DISABLED, actor=by, target=endpoint, data={"url": endpoint.url})


def endpoint_secret_new() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def event_emit(*, type: str, data: dict[str, Any]) -> WebhookEvent | None:
    """The event in the outbox, in the caller's transaction; None when no endpoint wants it."""
    endpoints = [endpoint for endpoint in WebhookEndpoint.objects.filter(active=True) if endpoint.wants(type)]
    if not endpoints:
        return None
    event = WebhookEvent.objects.create(
        event_id=f"msg_{secrets.token_hex(12)}",
        type=type,
        payload=json.loads(json.dumps({"type": type, "data": data}, cls=DjangoJSONEncoder)),
    )
    deliveries = WebhookDelivery.objects.bulk_create(
        [WebhookDelivery(event=event, endpoint=endpoint, next_attempt_at=timezone.now()) for endpoint in endpoints]
    )
    ids = [delivery.pk for delivery in deliveries]

    def queue() -> None:
        from core.tasks import webhook_deliver

        for delivery_id in ids:
            webhook_deliver.delay(delivery_id)

    transaction.on_commit(queue)
    return event


@dataclass(frozen=True)
class Attempt:
    delivered: bool
    retry_in: float | None  # seconds until the next attempt; None when there is none


def _body(event: WebhookEvent) -> str:
    return json.dumps({**event.payload, "timestamp": event.created.isoformat()}, separators=(",", ":"))


def _post(url: str, body: str, headers: dict[str, str]) -> tuple[int, str, str | None]:
    request = urllib.request.Request(url, data=body.encode(), method="POST", headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310  (http(s) only)
            return response.status, response.read(RESPONSE_KEPT).decode(errors="replace"), None
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read(RESPONSE_KEPT).decode(errors="replace"), refused.headers.get("Retry-After")


def _retry_after(value: str | None) -> float:
    return float(value) if value and value.strip().isdigit() else 0.0


def delivery_attempt(*, delivery: WebhookDelivery, now: datetime | None = None) -> Attempt:
    """One signed POST of the delivery's event to its endpoint; the outcome is kept on the delivery."""
    if delivery.status != WebhookDelivery.Status.PENDING:
        return Attempt(delivered=delivery.status == WebhookDelivery.Status.DELIVERED, retry_in=None)
    now = now or timezone.now()
    event, endpoint = delivery.event, delivery.endpoint
    body = _body(event)
    signature = Webhook(endpoint.secret).sign(event.event_id, now, body)
    headers = {
        "content-type": "application/json",
        "webhook-id": event.event_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
        "user-agent": "Portico-Webhooks/1",
    }
    started = time.monotonic()
    retry_after: str | None = None
    if not endpoint.url.startswith(("https://", "http://")):
        status, response = 0, "The endpoint's address is not http(s)."
    else:
        try:
            status, response, retry_after = _post(endpoint.url, body, headers)
        except (OSError, ValueError) as failed:
            status, response = 0, f"{type(failed).__name__}: {failed}"
    delivery.attempts += 1
    delivery.last_status_code = status or None
    delivery.last_latency_ms = int((time.monotonic() - started) * 1000)
    delivery.last_response = response[:RESPONSE_KEPT]
    retry_in: float | None = None
    if 200 <= status < 300:
        delivery.status = WebhookDelivery.Status.DELIVERED
        delivery.delivered_at = timezone.now()
        delivery.next_attempt_at = None
    elif delivery.attempts > len(RETRY_SCHEDULE):
        delivery.status = WebhookDelivery.Status.FAILED
        delivery.next_attempt_at = None
    else:
        retry_in = max(float(RETRY_SCHEDULE[delivery.attempts - 1]), _retry_after(retry_after))
        delivery.next_attempt_at = timezone.now() + timedelta(seconds=retry_in)
    delivery.save()
    return Attempt(delivered=delivery.status == WebhookDelivery.Status.DELIVERED, retry_in=retry_in)
