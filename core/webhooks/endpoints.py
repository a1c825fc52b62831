"""A firm admin's endpoints: reaching them (404 for anyone else), adding, changing, turning off, rotating, replaying.

Every change is audited. A rotated secret keeps signing, next to the new one,
for ``ROTATION_GRACE`` so an integration can switch without losing a delivery.
"""

from __future__ import annotations

import base64
import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from core.access import object_id, signed_in
from core.audit.actions import AuditAction
from core.audit.services import audit_record
from core.models import User, WebhookDelivery, WebhookEndpoint
from core.roles import MANAGE_FIRM_SETTINGS
from core.webhooks.addresses import schemes_allowed
from core.webhooks.events import EVENT_TYPES, endpoints_queue

ROTATION_GRACE = timedelta(hours=24)
LOG_LENGTH = 100


def may_manage_webhooks(user: object) -> bool:
    return isinstance(user, User) and signed_in(user) and user.is_staff and user.has_perm(MANAGE_FIRM_SETTINGS)


def endpoints_for_admin(user: object) -> QuerySet[WebhookEndpoint]:
    if not may_manage_webhooks(user):
        raise Http404("No such page.")
    return WebhookEndpoint.objects.order_by("-created", "-id")


def endpoint_for_admin(user: object, endpoint_id: object) -> WebhookEndpoint:
    found = endpoints_for_admin(user).filter(pk=object_id(endpoint_id, "endpoint")).first()
    if found is None:
        raise Http404("No such endpoint.")
    return found


def deliveries_for_admin(
    user: object, *, endpoint: WebhookEndpoint | None = None, limit: int = LOG_LENGTH
) -> list[WebhookDelivery]:
    """The delivery log, newest first: event, endpoint, status, attempts, last status code, latency, response."""
    return list(delivery_log_for_admin(user, endpoint=endpoint).order_by("-id")[:limit])


def delivery_log_for_admin(user: object, *, endpoint: WebhookEndpoint | None = None) -> QuerySet[WebhookDelivery]:
    """Every delivery of the endpoints the user administers (of one endpoint if given), unordered, unsliced."""
    found = WebhookDelivery.objects.filter(endpoint__in=endpoints_for_admin(user))
    if endpoint is not None:
        found = found.filter(endpoint=endpoint)
    return found.select_related("event", "endpoint")


def delivery_for_admin(user: object, endpoint: WebhookEndpoint, delivery_id: object) -> WebhookDelivery:
    found = (
        WebhookDelivery.objects.filter(endpoint__in=endpoints_for_admin(user), endpoint=endpoint)
        .select_related("event", "endpoint")
        .filter(pk=object_id(delivery_id, "delivery"))
        .first()
    )
    if found is None:
        raise Http404("No such delivery.")
    return found


def endpoint_secret_new() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _checked(url: str, events: list[str]) -> tuple[str, list[str]]:
    url = url.strip()
    schemes = schemes_allowed()
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
    return url, sorted(set(events))


@transaction.atomic
def endpoint_create(*, url: str, events: list[str], by: User) -> WebhookEndpoint:
    """A new endpoint with a fresh signing secret; ValidationError naming the field for a bad address or event."""
    url, events = _checked(url, events)
    endpoint = WebhookEndpoint.objects.create(url=url, secret=endpoint_secret_new(), events=events)
    audit_record(AuditAction.WEBHOOK_ENDPOINT_CREATED, actor=by, target=endpoint, data={"url": url, "events": events})
    return endpoint


@transaction.atomic
def endpoint_update(*, endpoint: WebhookEndpoint, url: str, events: list[str], active: bool, by: User) -> None:
    """Change the address or the events; ``active`` turns a disabled endpoint back on (its failed deliveries stay)."""
    url, events = _checked(url, events)
    before = {"url": endpoint.url, "events": endpoint.events, "active": endpoint.active}
    endpoint.url, endpoint.events, endpoint.active = url, events, active
    if active:
        endpoint.disabled_reason = ""
    endpoint.save(update_fields=["url", "events", "active", "disabled_reason"])
    if not active:
        _fail_pending(endpoint, "The endpoint was turned off.")
    after = {"url": url, "events": events, "active": active}
    audit_record(
        AuditAction.WEBHOOK_ENDPOINT_CHANGED, actor=by, target=endpoint, data={"before": before, "after": after}
    )


def _fail_pending(endpoint: WebhookEndpoint, why: str) -> None:
    WebhookDelivery.objects.filter(endpoint=endpoint, status=WebhookDelivery.Status.PENDING).update(
        status=WebhookDelivery.Status.FAILED, next_attempt_at=None, last_response=why
    )


@transaction.atomic
def endpoint_disable(*, endpoint: WebhookEndpoint, by: User | None, reason: str = "") -> None:
    """Nothing more is sent to the endpoint; ``by`` None is Portico itself (410 Gone, or out of attempts)."""
    endpoint.active = False
    endpoint.disabled_reason = reason[:200]
    endpoint.save(update_fields=["active", "disabled_reason"])
    _fail_pending(endpoint, reason or "The endpoint was turned off.")
    audit_record(
        AuditAction.WEBHOOK_ENDPOINT_DISABLED, actor=by, target=endpoint, data={"url": endpoint.url, "reason": reason}
    )


@transaction.atomic
def endpoint_secret_rotate(*, endpoint: WebhookEndpoint, by: User) -> str:
    """A new signing secret, returned once; the old one keeps signing too until the grace period ends."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    endpoint.previous_secret, endpoint.secret = endpoint.secret, endpoint_secret_new()
    endpoint.previous_secret_until = timezone.now() + ROTATION_GRACE
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_until"])
    audit_record(
        AuditAction.WEBHOOK_ENDPOINT_SECRET_ROTATED,
        actor=by,
        target=endpoint,
        data={"old_secret_until": endpoint.previous_secret_until.isoformat()},
    )
    return endpoint.secret


def endpoint_secrets(endpoint: WebhookEndpoint) -> list[str]:
    """The secrets a delivery is signed with now: the current one, and the previous during its grace period."""
    until = endpoint.previous_secret_until
    if endpoint.previous_secret and until is not None and until > timezone.now():
        return [endpoint.secret, endpoint.previous_secret]
    return [endpoint.secret]


@transaction.atomic
def delivery_replay(*, delivery: WebhookDelivery, by: User) -> WebhookDelivery:
    """Send the delivery's event to its endpoint again (same ``webhook-id``), as a delivery of its own."""
    endpoint = delivery.endpoint
    if not endpoint.active:
        raise ValidationError("Turn the endpoint back on before replaying to it.")
    replay = WebhookDelivery.objects.create(
        event=delivery.event, endpoint=endpoint, replay_of=delivery, next_attempt_at=timezone.now()
    )
    audit_record(
        AuditAction.WEBHOOK_DELIVERY_REPLAYED,
        actor=by,
        target=endpoint,
        data={"event": delivery.event.event_id, "type": delivery.event.type, "delivery": delivery.pk},
    )
    transaction.on_commit(lambda: endpoints_queue([endpoint]))
    return replay
