"""Webhook deliveries by a real Celery worker: in order and once per event id at the receiver, across a restart.

The worker (``tests.support.worker``, two processes, so two tasks for the same
endpoint do run at once) shares this process's broker: the delivery tasks are
the ones ``event_emit`` sends when each event's transaction commits. The
events and the endpoint are committed (the worker reads them from another
connection), outside pytest-django's per-test transaction, and removed after.
The receiver is a real HTTP server on loopback, allowed in the worker by
``PORTICO_WEBHOOKS_ALLOW_LOOPBACK``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import transaction
from pytest_django import Settings
from standardwebhooks.webhooks import Webhook

from core.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from core.webhooks import endpoint_secret_new, event_emit
from tests.support.firms import Firm
from tests.support.webhooks import Receiver, receiver_start
from tests.support.worker import Worker, celery_worker, wait_for, worker_queue

pytestmark = pytest.mark.slow

EVENTS = 60


@dataclass
class Setup:
    firm: Firm
    endpoint: WebhookEndpoint
    receiver: Receiver
    worker: Worker


@pytest.fixture
def committed(
    django_db_setup: dict[str, Firm],
    django_db_blocker: Any,
    settings: Settings,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Setup]:
    firm = django_db_setup["acme"]
    settings.PORTICO_WEBHOOKS_QUEUE = worker_queue()
    receiver, server = receiver_start()
    env = {"PORTICO_WEBHOOKS_ALLOW_LOOPBACK": "true", "PORTICO_WEBHOOKS_QUEUE": worker_queue()}
    with django_db_blocker.unblock():
        with firm.tenant:
            endpoint = WebhookEndpoint.objects.create(url=receiver.url, secret=endpoint_secret_new())
        try:
            with celery_worker(
                tmp_path_factory.mktemp("webhook-worker"), env=env, concurrency=2, shared_broker=True
            ) as worker:
                yield Setup(firm=firm, endpoint=endpoint, receiver=receiver, worker=worker)
        finally:
            server.shutdown()
            server.server_close()
            with firm.tenant:
                events = list(WebhookDelivery.objects.filter(endpoint=endpoint).values_list("event_id", flat=True))
                WebhookDelivery.objects.filter(endpoint=endpoint).delete()
                WebhookEvent.objects.filter(pk__in=events).delete()
                endpoint.delete()


def _emit(setup: Setup, numbers: range) -> list[str]:
    ids = []
    with setup.firm.tenant:
        for number in numbers:
            with transaction.atomic():  # one change, one commit: its task is sent then
                event = event_emit(type="matter.opened", data={"matter": number, "reference": f"2026-{number:04d}"})
                assert event is not None
                ids.append(event.event_id)
    return ids


def test_deliveries_arrive_in_order_and_once_each_across_a_worker_restart(committed: Setup) -> None:
    receiver, worker = committed.receiver, committed.worker
    receiver.delay = 0.05  # slow enough that the restart falls in the middle

    first = _emit(committed, range(EVENTS // 2))
    wait_for(lambda: len(receiver.accepted) >= 5, "the first deliveries", worker.output)
    worker.stop()  # warm shutdown, as in a deploy: the running task finishes, the queued ones wait in the broker
    second = _emit(committed, range(EVENTS // 2, EVENTS))  # written while no worker runs
    stopped_at = len(receiver.accepted)
    worker.start()
    wait_for(lambda: len(receiver.accepted) >= EVENTS, f"{EVENTS} deliveries", worker.output)

    assert stopped_at < EVENTS  # the restart did fall in the middle
    assert receiver.accepted == first + second  # in the order the events were written
    assert len(receiver.received) == EVENTS  # each event id sent once: nothing delivered was sent again
    numbers = [json.loads(body)["data"]["matter"] for _, body in receiver.received]
    assert numbers == list(range(EVENTS))
    for headers, body in receiver.received:
        Webhook(committed.endpoint.secret).verify(body, headers)
    with committed.firm.tenant:
        statuses = set(WebhookDelivery.objects.filter(endpoint=committed.endpoint).values_list("status", flat=True))
    assert statuses == {"delivered"}
