"""Idempotency keys of API POSTs, in the firm's schema (``api.idempotency`` claims, stores and replays them)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class IdempotencyKey(models.Model):
    """One ``Idempotency-Key`` of one caller (a token, or a signed-in user) on one endpoint, kept 24 hours.

    ``status`` is empty while the first request with the key is still being
    handled; then it and ``body`` are the answer every retry gets back.
    """

    owner = models.CharField(max_length=40, help_text="token:<id> or user:<id>")
    endpoint = models.CharField(max_length=300, help_text="The POST's path.")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64, help_text="SHA-256 of the request body.")
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    body = models.JSONField(null=True, blank=True)
    created = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "endpoint", "key"], name="idempotency_key_once")]

    def __str__(self) -> str:
        return f"{self.owner} POST {self.endpoint} {self.key}"
