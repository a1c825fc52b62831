"""The reminder fan-out on a real Celery worker (issue 13 item 2): beat's task, per firm, per reminder, the mail.

The worker (``celery -A core worker`` on the run's broker, reading the pytest
database) takes the reminder tasks on a queue of the test's own. The test's firm
and its overdue invoices are committed (the worker sees only committed rows);
the fan-out is sent twice at once, as two schedulers would. Each tier fires once
per invoice, each reminder is mailed once (the worker writes mail as files),
the Spanish client's in Spanish with the absolute link to the invoice.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import pytest

from billing.collections.models import ReminderSent
from billing.collections.tasks import send_reminders_in_every_firm
from core.celery import app as celery_app
from tenants.models import Tenant
from tests.support.collections import INVOICES, overdue_invoices
from tests.support.worker import Worker, celery_worker, wait_for, worker_queue

pytestmark = pytest.mark.slow


@pytest.fixture
def reminder_worker(django_db_setup: object, tmp_path: Path) -> Iterator[Worker]:
    """The shared test worker (tests.support.worker), with the reminder tasks routed to its queue."""
    queue = worker_queue()
    env = {"DJANGO_SETTINGS_MODULE": "tests.support.collections_worker_settings", "PORTICO_TEST_QUEUE": queue}
    with celery_worker(tmp_path, env=env, concurrency=2) as worker:
        yield worker


def _mails(var_dir: Path) -> list[Message]:
    folder = var_dir / "mail"
    if not folder.exists():
        return []
    found = []
    for path in sorted(folder.iterdir()):
        # The file backend writes each message followed by a line of dashes.
        for chunk in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
            if chunk.strip():
                found.append(message_from_bytes(chunk.strip() + b"\n"))
    return found


def test_two_fan_outs_on_a_real_worker_send_each_reminder_once_in_the_clients_language(
    reminding_firm: Tenant, reminder_worker: Worker
) -> None:
    overdue_invoices(reminding_firm, language="es")
    with celery_app.connection_for_write(**reminder_worker.broker_options) as broker:
        for _ in range(2):  # two schedulers at once
            send_reminders_in_every_firm.apply_async(queue=reminder_worker.queue, connection=broker)  # type: ignore[call-arg]

    def all_sent() -> bool:
        with reminding_firm:
            rows = list(ReminderSent.objects.values_list("status", flat=True))
        return len(rows) == 2 * INVOICES and set(rows) == {ReminderSent.Status.SENT}

    wait_for(all_sent, "reminders sent", reminder_worker.output)
    time.sleep(2)  # a duplicate send, if there were one, would land now
    mails = [m for m in _mails(reminder_worker.var_dir) if m["To"] == "client@reminding.test"]
    assert len(mails) == 2 * INVOICES
    body = mails[0].get_payload()[0].get_payload(decode=True).decode()  # type: ignore[index,union-attr]
    assert "Estimado/a Rosa Vega" in body
    assert "Vea la factura: http://reminding.localhost:8000/portal/billing/invoices/" in body
