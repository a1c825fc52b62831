"""Error reports and logs carry no personal data (issue 15 item 5, SPEC §10).

Errors carrying an A-number, a passport number, an SSN, an ITIN, an email address and bank
account numbers are raised through a view (in this process, sentry-sdk with a capture
transport), a Celery task (a real worker process) and CLI verbs (the console script and
``with_django``); the worker and the console script report with sentry-sdk's own HTTP
transport to a loopback ingest endpoint, configured as production is, by ``SENTRY_DSN``.
Every byte that would have left is searched for the values. Logs: JSON lines with tenant,
request id and user id, scrubbed the same way.
"""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sentry_sdk
from click.testing import CliRunner
from django.conf import settings
from django.db import connection
from django.test import Client, override_settings

from core.logging import JsonFormatter, RequestContextFilter
from core.sentry import sentry_init
from tests.support import personal_data
from tests.support.database import subprocess_database_url
from tests.support.firms import Firm
from tests.support.sentry_capture import CaptureTransport, SentryIngest, sentry_ingest

__all__ = ["sentry_ingest"]


@pytest.fixture
def captured() -> Iterator[CaptureTransport]:
    transport = CaptureTransport()
    sentry_init(dsn="http://public@127.0.0.1:9/1", environment="test", transport=transport)
    try:
        yield transport
    finally:
        sentry_sdk.init()  # no DSN: the integrations stay installed but send nothing


def _exception_values(events: list[dict[str, object]]) -> list[str]:
    values = []
    for event in events:
        for item in (event.get("exception") or {}).get("values", []):  # type: ignore[attr-defined]
            values.append(item.get("value", ""))
    return values


# --- Scrubbing itself -------------------------------------------------------------------


def test_each_kind_of_personal_data_is_scrubbed_from_text() -> None:
    from core.scrubbing import scrub_text

    scrubbed = scrub_text(personal_data.sentence())

    assert personal_data.leaked(scrubbed) == []
    for marker in ("[email]", "[a-number]", "[passport]", "[ssn]", "[account]", "[iban]"):
        assert marker in scrubbed
    # What is not personal stays readable.
    assert scrub_text("sha256 of 2025-0001 at 2025-01-15T10:00:00.123456Z on port 5432") == (
        "sha256 of 2025-0001 at 2025-01-15T10:00:00.123456Z on port 5432"
    )


# --- Through a view ---------------------------------------------------------------------------


@override_settings(ROOT_URLCONF="tests.support.error_views")
def test_an_error_in_a_view_reaches_sentry_without_personal_data(firm_a: Firm, captured: CaptureTransport) -> None:
    client = Client(HTTP_HOST=firm_a.host, raise_request_exception=False)
    with firm_a.tenant:
        client.force_login(firm_a.admin)
    client.cookies["client_email"] = personal_data.EMAIL

    response = client.post(
        f"/test-errors/explode/?email={personal_data.EMAIL}&a={personal_data.A_NUMBER}",
        {"passport_number": personal_data.PASSPORT, "note": personal_data.sentence()},
        HTTP_X_REQUEST_ID="req-view-0001",
        HTTP_X_CLIENT_SSN=personal_data.SSN,
    )
    sentry_sdk.flush()

    assert response.status_code == 500
    [event] = [event for event in captured.events() if event.get("exception")]
    assert _exception_values([event]) == [
        "could not file for [email]: A-number [a-number], passport [passport], SSN [ssn], ITIN [ssn], "
        "refund to account [account] / [iban]"
    ]
    assert event["tags"]["tenant"] == "acme"  # type: ignore[index]
    assert event["tags"]["request_id"] == "req-view-0001"  # type: ignore[index]
    assert event["tags"]["user_id"] == str(firm_a.admin.pk)  # type: ignore[index]
    assert not event.get("user")  # no email, username or address
    assert "data" not in event["request"]  # type: ignore[operator]
    assert "vars" not in json.dumps(event["exception"])
    assert personal_data.leaked(captured.raw) == []


# --- Through a Celery task in a real worker ---------------------------------------------------------


@pytest.mark.slow
def test_an_error_in_a_celery_task_reaches_sentry_without_personal_data(
    firm_a: Firm, sentry_ingest: SentryIngest, tmp_path: Path
) -> None:
    from core.celery import app as celery_app
    from tenants.dev.up import Child, stop_children, worker_command

    queue = f"portico-errors-{connection.settings_dict['NAME']}"
    env = {
        **os.environ,
        "DATABASE_URL": subprocess_database_url(),
        "PORTICO_ENV": "test",
        "DJANGO_SETTINGS_MODULE": "tests.support.error_worker_settings",
        "PORTICO_VAR_DIR": str(tmp_path),
        "PORTICO_LOG_FORMAT": "json",
        "SENTRY_DSN": sentry_ingest.dsn,
        "PYTHONUNBUFFERED": "1",
    }
    broker_options: dict[str, Any] = {}
    filesystem_broker = not settings.REDIS_URL
    if filesystem_broker:
        from core.settings import filesystem_broker_options

        broker_options["transport_options"] = filesystem_broker_options(tmp_path / "broker")
    child = Child("errors worker", worker_command(filesystem_broker=filesystem_broker, concurrency=1, queues=[queue]))
    log = tmp_path / "worker.log"
    sentry_ingest.clear()
    with log.open("wb") as output:
        try:
            child.start(env, cwd=settings.BASE_DIR, output=output)
            with celery_app.connection_for_write(**broker_options) as broker, firm_a.tenant:
                result = celery_app.send_task(
                    "tests.support.error_tasks.explode", args=[personal_data.EMAIL], queue=queue, connection=broker
                )
            events = [e for e in sentry_ingest.wait_for_events(2, timeout=60) if e.get("exception")]
            deadline = time.monotonic() + 30
            while f"task-{result.id}" not in log.read_text(errors="replace") and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            stop_children([child], timeout=20)
    output_text = log.read_text(errors="replace")

    assert events, f"no error event from the worker:\n{output_text[-3000:]}"
    assert any(v.startswith("could not file for [email]: A-number [a-number]") for v in _exception_values(events))
    assert {event["tags"]["tenant"] for event in events} == {"acme"}  # type: ignore[index]
    assert personal_data.leaked(sentry_ingest.raw) == []
    # The worker's own log: JSON lines from the task, with its firm and the task id as request id.
    lines = [json.loads(line) for line in output_text.splitlines() if line.startswith("{")]
    task_lines = [line for line in lines if line["request_id"] == f"task-{result.id}"]
    assert task_lines, output_text[-3000:]
    assert {line["tenant"] for line in task_lines} == {"acme"}
    assert personal_data.leaked(output_text) == []


# --- Through the CLI ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_an_error_in_a_cli_verb_reaches_sentry_without_personal_data(sentry_ingest: SentryIngest, db: None) -> None:
    script = Path(sys.executable).parent / "portico"
    env = {**os.environ, "DATABASE_URL": subprocess_database_url(), "SENTRY_DSN": sentry_ingest.dsn}
    sentry_ingest.clear()

    completed = subprocess.run(
        [str(script), "manage", "shell", "-c", f"raise ValueError({personal_data.sentence()!r})"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    events = [e for e in sentry_ingest.wait_for_events(1) if e.get("exception")]

    assert completed.returncode == 1, completed.stderr
    assert events, completed.stderr
    assert any(v.startswith("could not file for [email]") for v in _exception_values(events))
    assert personal_data.leaked(sentry_ingest.raw) == []


def test_an_unexpected_error_in_a_verb_is_reported_and_its_one_line_is_scrubbed(captured: CaptureTransport) -> None:
    import click

    from tenants.cli.base import with_django

    @click.command()
    @with_django
    def failing() -> None:
        raise RuntimeError(personal_data.sentence())

    result = CliRunner().invoke(failing, [])
    sentry_sdk.flush()

    assert result.exit_code == 1
    assert result.stderr.startswith("error: RuntimeError: could not file for [email]")
    assert personal_data.leaked(result.stderr) == []
    assert _exception_values(captured.events())[0].startswith("could not file for [email]")
    assert personal_data.leaked(captured.raw) == []


# --- Logs ---------------------------------------------------------------------------------------------


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestContextFilter())
    logger = logging.getLogger("portico.test.errors")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


@override_settings(ROOT_URLCONF="tests.support.error_views")
def test_log_lines_are_json_with_tenant_request_and_user_and_no_personal_data(
    firm_a: Firm, json_log: io.StringIO
) -> None:
    response = firm_a.client(firm_a.admin).get("/test-errors/log/", HTTP_X_REQUEST_ID="req-log-000042")

    assert response.status_code == 200
    [line] = [json.loads(text) for text in json_log.getvalue().splitlines()]
    assert line["tenant"] == "acme"
    assert line["request_id"] == "req-log-000042"
    assert line["user_id"] == str(firm_a.admin.pk)
    assert line["message"] == "client [email] (A-number [a-number]) opened the page"
    assert line["level"] == "INFO"


def test_a_logged_exception_has_its_traceback_scrubbed(json_log: io.StringIO) -> None:
    logger = logging.getLogger("portico.test.errors")
    try:
        raise ValueError(personal_data.sentence())
    except ValueError:
        logger.exception("filing failed for %s", personal_data.EMAIL)

    [line] = [json.loads(text) for text in json_log.getvalue().splitlines()]
    assert line["message"] == "filing failed for [email]"
    assert "ValueError: could not file for [email]" in line["exception"]
    assert personal_data.leaked(json_log.getvalue()) == []
