"""The reminder fan-out on a real Celery worker (issue 13 item 2): beat's task, per firm, per reminder, the mail.

The worker (``celery -A core worker`` on the run's broker, reading the pytest
database) takes the reminder tasks on a queue of the test's own. The test's firm
and its overdue invoices are committed (the worker sees only committed rows);
the fan-out is sent twice at once, as two schedulers would. Each tier fires once
per invoice, each reminder is mailed once (the worker writes mail as files),
the Spanish client's in Spanish with the absolute link to the invoice.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from billing.collections.models import ReminderSent
from billing.collections.tasks import send_reminders_in_every_firm
from core import settings as portico_settings
from core.celery import app as celery_app
from tenants.dev.up import Child, stop_children, worker_command
from tenants.models import Tenant
from tests.support.collections import INVOICES, overdue_invoices
from tests.support.database import subprocess_database_url

pytestmark = pytest.mark.slow

WAIT_SECONDS = 90.0


def _wait_for(condition: Callable[[], bool], what: str, log: Path) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.3)
    raise AssertionError(f"no {what} within {WAIT_SECONDS}s; worker output:\n{log.read_text(errors='replace')[-4000:]}")


@pytest.fixture
def reminder_worker(django_db_setup: object, tmp_path: Path) -> Iterator[tuple[str, Path, dict[str, Any]]]:
    queue = f"portico-reminders-{connection.settings_dict['NAME']}"
    filesystem_broker = not settings.REDIS_URL
    env = {
        **os.environ,
        "DATABASE_URL": subprocess_database_url(),
        "PORTICO_ENV": "test",
        "DJANGO_SETTINGS_MODULE": "tests.support.collections_worker_settings",
        "PORTICO_TEST_QUEUE": queue,
        "PORTICO_VAR_DIR": str(tmp_path),
        "PORTICO_PUBLIC_PORT": "8000",
        "PYTHONUNBUFFERED": "1",
    }
    broker_options: dict[str, Any] = {}
    if filesystem_broker:
        broker_options["transport_options"] = portico_settings.filesystem_broker_options(tmp_path / "broker")
    with celery_app.connection_for_write(**broker_options) as broker:
        broker.default_channel.queue_purge(queue)  # type: ignore[attr-defined]
    child = Child(
        "reminder worker",
        worker_command(filesystem_broker=filesystem_broker, concurrency=2, queues=[queue], hostname=f"{queue}@%h"),
    )
    log = tmp_path / "worker.log"
    with log.open("wb") as output:
        try:
            child.start(env, cwd=settings.BASE_DIR, output=output)
            _wait_for(
                lambda: " ready." in log.read_text(errors="replace") or child.exit_code() is not None, "ready", log
            )
            assert child.exit_code() is None, log.read_text(errors="replace")
            yield queue, tmp_path, broker_options
        finally:
            stop_children([child], timeout=20)


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
    reminding_firm: Tenant, reminder_worker: tuple[str, Path, dict[str, Any]]
) -> None:
    queue, var_dir, broker_options = reminder_worker
    overdue_invoices(reminding_firm, language="es")
    with celery_app.connection_for_write(**broker_options) as broker:
        for _ in range(2):  # two schedulers at once
            send_reminders_in_every_firm.apply_async(queue=queue, connection=broker)  # type: ignore[call-arg]

    def all_sent() -> bool:
        with reminding_firm:
            rows = list(ReminderSent.objects.values_list("status", flat=True))
        return len(rows) == 2 * INVOICES and set(rows) == {ReminderSent.Status.SENT}

    _wait_for(all_sent, "reminders sent", var_dir / "worker.log")
    time.sleep(2)  # a duplicate send, if there were one, would land now
    mails = [m for m in _mails(var_dir) if m["To"] == "client@reminding.test"]
    assert len(mails) == 2 * INVOICES
    body = mails[0].get_payload()[0].get_payload(decode=True).decode()  # type: ignore[index,union-attr]
    assert "Estimado/a Rosa Vega" in body
    assert "Vea la factura: http://reminding.localhost:8000/portal/billing/invoices/" in body
