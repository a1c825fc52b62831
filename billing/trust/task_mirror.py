"""Billing's tasks in the firm's one task list (``core.work``): each ``BillingTask`` gets a ``core.Task``.

A billing rule (low trust balance, collections, a failed payment plan, a dispute) makes a
``BillingTask``; the receiver below gives it a task in the staff's task list, keyed
``billing:<id>`` so it is made once. When staff mark that task done, the billing task is done too.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save
from django.utils import timezone

from billing.trust.models import BillingTask
from core.models import Task
from core.work import task_ensure

PREFIX = "billing:"


def _priority(kind: str) -> str:
    urgent = {BillingTask.Kind.PARTNER_ESCALATION, BillingTask.Kind.TRUST_REPLENISH}
    return Task.Priority.HIGH if kind in urgent else Task.Priority.NORMAL


def mirror_billing_task(sender: Any, instance: BillingTask, created: bool, **kwargs: Any) -> None:
    if not created or kwargs.get("raw"):
        return
    task_ensure(
        source=Task.Source.BILLING,
        source_key=f"{PREFIX}{instance.pk}",
        title=instance.message,
        matter=instance.matter,
        priority=_priority(instance.kind),
    )


def close_billing_task(sender: Any, instance: Task, **kwargs: Any) -> None:
    key = instance.source_key or ""
    if instance.source != Task.Source.BILLING or not key.startswith(PREFIX) or instance.state != Task.State.DONE:
        return
    BillingTask.objects.filter(pk=int(key.removeprefix(PREFIX)), done_at__isnull=True).update(done_at=timezone.now())


def connect() -> None:
    post_save.connect(mirror_billing_task, sender=BillingTask, dispatch_uid="billing_task_in_the_task_list")
    post_save.connect(close_billing_task, sender=Task, dispatch_uid="billing_task_done_with_its_task")
