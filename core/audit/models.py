"""The audit log's tables in each firm's schema.

``AuditEntry`` rows are never changed or removed: a trigger (migration 0002)
refuses UPDATE, DELETE and TRUNCATE, except the retention prune of an anchored
prefix (``services.audit_prune``). ``AuditChainHead`` is one row holding the last
sequence and hash; appends lock it to keep the chain gap-free and ordered.
Actors and targets are kept as ids and snapshots, not foreign keys, so deleting
a user or a document never has to touch the log.
"""

from __future__ import annotations

import json

from django.db import models


class AuditEntry(models.Model):
    """One recorded action; see ``core.audit.chain`` for how it is hashed."""

    sequence = models.BigIntegerField(primary_key=True)
    created = models.DateTimeField()
    tenant = models.CharField(max_length=63, help_text="The firm's schema.")
    action = models.CharField(max_length=100)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_email = models.CharField(max_length=254, blank=True)
    target_type = models.CharField(max_length=100, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=200, blank=True)
    ip = models.CharField(max_length=45, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    data = models.TextField(default="{}", help_text="Canonical JSON (sorted keys, ASCII), exactly as hashed.")
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["sequence"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["created"], name="audit_entry_created"),
            models.Index(fields=["action", "sequence"], name="audit_entry_action"),
            models.Index(fields=["actor_id", "sequence"], name="audit_entry_actor"),
            models.Index(fields=["target_type", "target_id"], name="audit_entry_target"),
        ]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.action}"

    @property
    def data_dict(self) -> dict[str, object]:
        loaded: dict[str, object] = json.loads(self.data)
        return loaded


class AuditChainHead(models.Model):
    """The chain's last sequence and hash (a single row, id 1), locked by every append."""

    sequence = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"head #{self.sequence}"
