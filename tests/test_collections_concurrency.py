"""Each reminder tier fires once per invoice even when two fan-outs run at the same time (issue 13 item 2).

Two threads, each on its own database connection, run the firm's fan-out at
once over committed invoices in a firm of the test's own (removed again). The
(invoice, tier) rows, the collections tasks and the sends queued on commit
(read back from the run's broker, Redis or the filesystem, as messages stamped
with the firm's schema) are exactly one per invoice and tier.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.db import connections
from django_tenants.utils import schema_context

from billing.collections.models import ReminderSent
from billing.collections.reminders import reminders_fire_due
from billing.trust.models import BillingTask
from core.celery import app as celery_app
from tenants.models import Tenant
from tests.support.collections import INVOICES, SLUG, overdue_invoices

SEND_TASK = "billing.collections.tasks.send_reminder"


def _queued_sends(broker: Any) -> list[int]:
    """The ids of this firm's send_reminder messages waiting on the default queue, taken off it (others put back)."""
    found, others = [], []
    waiting = broker.SimpleQueue(settings.CELERY_TASK_DEFAULT_QUEUE)
    try:
        while True:
            try:
                message = waiting.get(timeout=0.5)
            except waiting.Empty:
                break
            if message.headers.get("task") == SEND_TASK and message.headers.get("_schema_name") == SLUG:
                found.append(message.payload[0][0])  # Celery's body: [args, kwargs, embed]
                message.ack()
            else:
                others.append(message)
        for message in others:
            message.requeue()
    finally:
        waiting.close()
    return found


@pytest.fixture
def broker() -> Iterator[Any]:
    with celery_app.connection_for_write() as connection:
        yield connection
        _queued_sends(connection)  # what a failed test left queued


def test_two_fan_outs_at_once_fire_each_tier_once_per_invoice(reminding_firm: Tenant, broker: Any) -> None:
    overdue_invoices(reminding_firm)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []
    fired: list[int] = []

    def fan_out() -> None:
        try:
            with schema_context(SLUG):
                barrier.wait()
                fired.extend(sent.pk for sent in reminders_fire_due())
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=fan_out) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors[:3]

    with reminding_firm:
        rows = list(ReminderSent.objects.values_list("pk", "invoice_id", "tier__name"))
        tasks = BillingTask.objects.filter(kind=BillingTask.Kind.COLLECTIONS).count()
    assert len(rows) == 2 * INVOICES  # friendly and formal on each invoice
    assert len({(invoice, tier) for _, invoice, tier in rows}) == 2 * INVOICES
    assert sorted(fired) == sorted(pk for pk, _, _ in rows)  # between them the two runs fired each once
    assert tasks == INVOICES  # the formal notice's task, once per invoice
    assert sorted(_queued_sends(broker)) == sorted(fired)  # one send queued per reminder, after its commit
