"""Outgoing webhooks: the firm's endpoints, the outbox of events, and each event's delivery to each endpoint.

An event row (the outbox) is written by the service that made the change, in
its transaction (``core.webhooks.event_emit``), with one delivery row per
subscribed endpoint; so an event exists exactly when its change was committed.
Deliveries are sent and retried by a Celery task (``core.tasks.webhook_deliver``).
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class WebhookEndpoint(models.Model):
    url = models.URLField(max_length=500)
    # Standard Webhooks secret ("whsec_" + base64); kept to sign every delivery.
    secret = models.CharField(max_length=100)
    events = models.JSONField(default=list, help_text="Event types sent here; empty for all.")
    # During a rotation's grace period deliveries carry a signature with the old secret too.
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_until = models.DateTimeField(null=True, blank=True)
    active = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=200, blank=True)  # why Portico (or an admin) turned it off
    created = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return self.active and (not self.events or event_type in self.events)


class WebhookEvent(models.Model):
    event_id = models.CharField(max_length=40, unique=True)  # the webhook-id header: the same on every retry
    type = models.CharField(max_length=60)
    payload = models.JSONField()
    created = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        FAILED = "failed"  # out of attempts, or its endpoint was turned off

    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_latency_ms = models.PositiveIntegerField(null=True, blank=True)
    last_response = models.CharField(max_length=500, blank=True)  # truncated body, or the connection error
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    # A firm admin's replay is a delivery of its own (a delivered row is never sent again).
    replay_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replays")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["event", "endpoint"], condition=models.Q(replay_of__isnull=True), name="webhook_delivery_once"
            )
        ]
        indexes = [models.Index(fields=["endpoint", "status", "id"], name="webhook_delivery_queue")]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint}"
