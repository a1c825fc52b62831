"""A real Celery worker process for the tests (tests/test_celery.py, tests/test_webhook_worker.py).

The worker is `celery -A core worker` on the broker the settings give (Redis
when REDIS_URL is set, kombu's filesystem transport otherwise), reading the
pytest database, whose two firms were committed at session start. It listens on
a queue named after the test database, so no other worker on the same broker
takes these tasks, and it writes mail as files into a directory of its own.
``stop`` and ``start`` restart it (warm shutdown: the task it is running finishes).

With ``shared_broker`` the worker uses this process's own broker and var
directory, so that tasks the application sends by itself (on commit) reach it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

from core import settings as portico_settings
from core.celery import app as celery_app
from core.scrubbing import scrub_text
from core.tasks import send_invitation
from tenants.dev.up import Child, stop_children, worker_command
from tenants.models import Tenant
from tests.support.database import subprocess_database_url

WAIT_SECONDS = 60.0
PUBLIC_PORT = "8000"


def wait_for(condition: Callable[[], bool], what: str, output: Callable[[], str]) -> str:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return output()
        time.sleep(0.2)
    raise AssertionError(f"no {what} within {WAIT_SECONDS:.0f} s; worker output:\n{output()[-4000:]}")


@dataclass
class Worker:
    queue: str
    var_dir: Path
    log: Path
    broker_options: dict[str, Any]
    env: dict[str, str] = field(default_factory=dict)
    concurrency: int = 1
    child: Child | None = None

    @property
    def mail_dir(self) -> Path:
        return self.var_dir / "mail"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def start(self) -> None:
        filesystem_broker = not settings.REDIS_URL
        self.child = Child(
            "test worker",
            worker_command(
                filesystem_broker=filesystem_broker,
                concurrency=self.concurrency,
                queues=[self.queue],
                hostname=f"{self.queue}@%h",
            ),
        )
        ready_before = self.output().count(" ready.") if self.log.exists() else 0
        with self.log.open("ab") as output:
            self.child.start(self.env, cwd=settings.BASE_DIR, output=output)
        child = self.child
        wait_for(
            lambda: self.output().count(" ready.") > ready_before or child.exit_code() is not None,
            "ready worker",
            self.output,
        )
        assert child.exit_code() is None, f"the worker exited at start:\n{self.output()}"

    def stop(self) -> None:
        if self.child is not None:
            stop_children([self.child], timeout=20)
            self.child = None

    def send_invitation(self, *, user_id: int, tenant: Tenant | None) -> str:
        """Send core.tasks.send_invitation from inside ``tenant``, or from the public schema."""
        with celery_app.connection_for_write(**self.broker_options) as broker:
            # celery-types leaves out apply_async's ``connection`` option (it reaches the producer).
            options: dict[str, Any] = {"queue": self.queue, "connection": broker}
            if tenant is None:
                assert getattr(connection, "schema_name", None) == "public"
                return send_invitation.apply_async(args=(user_id,), **options).id
            with tenant:
                return send_invitation.apply_async(args=(user_id,), **options).id

    def wait_for_log(self, text: str) -> str:
        # The worker's log is scrubbed (core.scrubbing): a task id such as a6624905-… reads as an A-number there.
        text = scrub_text(text)
        return wait_for(lambda: text in self.output(), f"{text!r} in the worker's log", self.output)

    def mails_to(self, email: str) -> list[str]:
        if not self.mail_dir.exists():
            return []
        mails = [path.read_text(errors="replace") for path in sorted(self.mail_dir.iterdir())]
        return [mail for mail in mails if f"\nTo: {email}\n" in mail]


def worker_queue() -> str:
    # One queue per test database: concurrent runs on other databases never share it.
    return f"portico-{connection.settings_dict['NAME']}"


@contextmanager
def celery_worker(
    var_dir: Path, *, env: dict[str, str] | None = None, concurrency: int = 1, shared_broker: bool = False
) -> Iterator[Worker]:
    """A started worker on this test database's own queue; ``env`` adds to its environment."""
    queue = worker_queue()
    full_env = {
        **os.environ,
        "DATABASE_URL": subprocess_database_url(),
        "PORTICO_ENV": "test",
        "DJANGO_SETTINGS_MODULE": "tests.support.celery_worker_settings",  # the test settings, mail written to files
        "PORTICO_VAR_DIR": str(settings.VAR_DIR if shared_broker else var_dir),
        "PORTICO_PUBLIC_PORT": PUBLIC_PORT,
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    # The sender (this process) writes into the worker's broker folder.
    broker_options: dict[str, Any] = {}
    if not settings.REDIS_URL and not shared_broker:
        broker_options["transport_options"] = portico_settings.filesystem_broker_options(var_dir / "broker")
    log = var_dir / "worker.log"
    handle = Worker(
        queue=queue, var_dir=var_dir, log=log, broker_options=broker_options, env=full_env, concurrency=concurrency
    )
    with celery_app.connection_for_write(**broker_options) as broker:
        # What an interrupted earlier run left behind (kombu types the channel as the bare protocol).
        broker.default_channel.queue_purge(queue)  # type: ignore[attr-defined]
    try:
        handle.start()
        yield handle
    finally:
        handle.stop()
