"""Outgoing webhooks (issue 14 item 4): the outbox, Standard Webhooks signatures, retries, 410, giving up, rotation.

A real HTTP receiver on loopback (``tests.support.webhooks``) takes the
deliveries and checks them with the ``standardwebhooks`` library, as an
integration would. No worker runs here: the tests call what the Celery task
calls (``endpoint_deliver_next``, ``delivery_attempt``); tests/test_webhook_worker.py
runs a real worker.
"""

from __future__ import annotations

import json
import secrets
from datetime import timedelta

import pytest
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone
from pytest_django import Settings
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from core.audit.models import AuditEntry
from core.matters import matter_create
from core.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from core.webhooks import (
    RETRY_SCHEDULE,
    delivery_attempt,
    endpoint_deliver_next,
    endpoint_secret_new,
    endpoint_secret_rotate,
)
from tests.support.cast import Cast
from tests.support.firms import Firm
from tests.support.servers import free_port
from tests.support.webhooks import Receiver


def _endpoint(cast: Cast, url: str, events: list[str] | None = None) -> WebhookEndpoint:
    with cast.firm.tenant:
        return WebhookEndpoint.objects.create(url=url, secret=endpoint_secret_new(), events=events or [])


def _open_matter(cast: Cast, reference: str = "2026-0900") -> None:
    with cast.firm.tenant:
        matter_create(reference=reference, title="Webhook", matter_type="I-130", client=cast.carol, by=cast.alice)


def _delivery(cast: Cast) -> WebhookDelivery:
    with cast.firm.tenant:
        return WebhookDelivery.objects.select_related("event", "endpoint").get()


def test_an_opened_matter_is_written_to_the_outbox_and_queued_after_commit(
    cast: Cast, receiver: Receiver, django_capture_on_commit_callbacks: object
) -> None:
    _endpoint(cast, receiver.url)

    with django_capture_on_commit_callbacks(execute=False) as queued:  # type: ignore[operator]
        _open_matter(cast)

    delivery = _delivery(cast)
    assert delivery.event.type == "matter.opened"
    assert delivery.event.payload["data"]["reference"] == "2026-0900"
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert len(queued) == 1  # the task is sent only when the transaction commits
    assert receiver.received == []


def test_no_event_when_the_change_rolls_back(cast: Cast, receiver: Receiver) -> None:
    _endpoint(cast, receiver.url)

    def open_then_fail() -> None:
        with transaction.atomic():
            matter_create(reference="2026-0901", title="x", matter_type="I-130", client=cast.carol, by=cast.alice)
            raise RuntimeError("the change fails after the event was emitted")

    with cast.firm.tenant, pytest.raises(RuntimeError):
        open_then_fail()

    with cast.firm.tenant:
        assert not WebhookEvent.objects.exists()
        assert not WebhookDelivery.objects.exists()


def test_the_delivery_is_signed_and_verifies_with_standard_webhooks(cast: Cast, receiver: Receiver) -> None:
    endpoint = _endpoint(cast, receiver.url)
    _open_matter(cast)

    with cast.firm.tenant:
        attempt = delivery_attempt(delivery=_delivery(cast))
    delivery = _delivery(cast)

    assert attempt.delivered
    [(headers, body)] = receiver.received
    verified = Webhook(endpoint.secret).verify(body, headers)
    assert verified["type"] == "matter.opened"
    assert verified["data"]["client"] == cast.carol.pk  # ids, never an email
    assert headers["webhook-id"] == delivery.event.event_id
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    assert delivery.last_status_code == 200
    assert delivery.last_response == "ok"
    assert delivery.last_latency_ms is not None


def test_a_tampered_body_or_another_secret_does_not_verify(cast: Cast, receiver: Receiver) -> None:
    _endpoint(cast, receiver.url)
    _open_matter(cast)
    with cast.firm.tenant:
        delivery_attempt(delivery=_delivery(cast))
    [(headers, body)] = receiver.received

    with pytest.raises(WebhookVerificationError):
        Webhook(endpoint_secret_new()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(_delivery(cast).endpoint.secret).verify(body.replace("2026-0900", "2026-0999"), headers)


def test_a_failed_delivery_is_retried_with_back_off_and_retry_after_then_delivered(
    cast: Cast, receiver: Receiver
) -> None:
    _endpoint(cast, receiver.url)
    _open_matter(cast)
    receiver.answers = [(503, {"Retry-After": "120"}), (500, {})]

    with cast.firm.tenant:
        first = delivery_attempt(delivery=_delivery(cast))
        after_first = _delivery(cast)
        logged = (after_first.last_status_code, after_first.last_response, after_first.next_attempt_at is not None)
        second = delivery_attempt(delivery=after_first)
        third = delivery_attempt(delivery=_delivery(cast))
    delivery = _delivery(cast)

    assert (first.delivered, first.retry_in) == (False, 120.0)  # the endpoint's Retry-After beats 5 s
    assert logged == (503, "busy, try later", True)
    assert (second.delivered, second.retry_in) == (False, float(RETRY_SCHEDULE[1]))
    assert third.delivered
    assert delivery.attempts == 3
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    assert len({headers["webhook-id"] for headers, _ in receiver.received}) == 1  # the same id on every retry
    assert len(receiver.received) == 3


def test_a_delivery_that_never_succeeds_disables_the_endpoint_and_emails_the_admins(
    cast: Cast, receiver: Receiver, mailoutbox: list[EmailMessage], django_capture_on_commit_callbacks: object
) -> None:
    endpoint = _endpoint(cast, f"http://127.0.0.1:{free_port()}/nobody-listens")
    _open_matter(cast)
    _open_matter(cast, "2026-0902")  # waits behind the first: failed with it when the endpoint goes off

    with cast.firm.tenant, django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        first = WebhookDelivery.objects.select_related("event", "endpoint").order_by("id").first()
        assert first is not None
        outcomes = []
        for _ in range(len(RETRY_SCHEDULE) + 1):
            outcomes.append(delivery_attempt(delivery=first))
        endpoint.refresh_from_db()
        statuses = list(WebhookDelivery.objects.order_by("id").values_list("status", flat=True))

    assert [o.retry_in for o in outcomes] == [float(s) for s in RETRY_SCHEDULE] + [None]
    assert statuses == ["failed", "failed"]
    assert "ConnectionRefusedError" in first.last_response
    assert sum(RETRY_SCHEDULE) > 2.5 * 24 * 3600  # about 3 days in all
    assert not endpoint.active
    assert "10 attempts" in endpoint.disabled_reason
    [mail] = mailoutbox
    assert mail.to == [cast.alice.email]  # the firm admins
    assert endpoint.url in mail.body
    assert f"/staff/webhooks/{endpoint.pk}/" in mail.body
    with cast.firm.tenant:
        [entry] = AuditEntry.objects.filter(action="webhook_endpoint.disabled")
    assert entry.actor_id is None  # Portico did it


def test_a_410_gone_disables_the_endpoint_at_once_and_emails_the_admins(
    cast: Cast, receiver: Receiver, mailoutbox: list[EmailMessage], django_capture_on_commit_callbacks: object
) -> None:
    endpoint = _endpoint(cast, receiver.url)
    _open_matter(cast)
    receiver.answers = [(410, {})]

    with cast.firm.tenant, django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        attempt = delivery_attempt(delivery=_delivery(cast))
        endpoint.refresh_from_db()

    assert (attempt.delivered, attempt.retry_in) == (False, None)
    assert not endpoint.active
    assert "410" in endpoint.disabled_reason
    assert _delivery(cast).status == WebhookDelivery.Status.FAILED
    assert len(mailoutbox) == 1
    _open_matter(cast, "2026-0903")
    with cast.firm.tenant:
        assert WebhookDelivery.objects.count() == 1  # a turned-off endpoint gets nothing new


def test_deliveries_go_in_order_and_a_retried_one_holds_back_the_next(cast: Cast, receiver: Receiver) -> None:
    endpoint = _endpoint(cast, receiver.url)
    for number in range(3):
        _open_matter(cast, f"2026-091{number}")
    receiver.answers = [(500, {})]

    with cast.firm.tenant:
        first = endpoint_deliver_next(endpoint_id=endpoint.pk)
        held = endpoint_deliver_next(endpoint_id=endpoint.pk)  # the head is not due yet: nothing is sent
        WebhookDelivery.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
        rest = [endpoint_deliver_next(endpoint_id=endpoint.pk) for _ in range(4)]

    references = [json.loads(body)["data"]["reference"] for _, body in receiver.received]
    assert first == float(RETRY_SCHEDULE[0])
    assert held is not None
    assert 0 < held <= RETRY_SCHEDULE[0]
    assert rest == [0.0, 0.0, 0.0, None]
    assert references == ["2026-0910", "2026-0910", "2026-0911", "2026-0912"]


def test_a_delivered_row_is_never_sent_again(cast: Cast, receiver: Receiver) -> None:
    endpoint = _endpoint(cast, receiver.url)
    _open_matter(cast)

    with cast.firm.tenant:
        assert endpoint_deliver_next(endpoint_id=endpoint.pk) == 0.0
        attempt_again = delivery_attempt(delivery=_delivery(cast))
        next_again = endpoint_deliver_next(endpoint_id=endpoint.pk)

    assert attempt_again.delivered
    assert next_again is None
    assert len(receiver.received) == 1


def test_during_a_rotation_deliveries_carry_both_signatures_then_only_the_new_one(
    cast: Cast, receiver: Receiver
) -> None:
    endpoint = _endpoint(cast, receiver.url)
    old = endpoint.secret
    with cast.firm.tenant:
        new = endpoint_secret_rotate(endpoint=endpoint, by=cast.alice)
    _open_matter(cast, "2026-0920")
    with cast.firm.tenant:
        delivery_attempt(delivery=_delivery(cast))
        WebhookEndpoint.objects.update(previous_secret_until=timezone.now() - timedelta(seconds=1))
        _open_matter(cast, "2026-0921")
        later = WebhookDelivery.objects.select_related("event", "endpoint").order_by("-id").first()
        assert later is not None
        delivery_attempt(delivery=later)
        [entry] = AuditEntry.objects.filter(action="webhook_endpoint.secret_rotated")
    (during, body), (after, later_body) = receiver.received

    assert new != old
    assert len(during["webhook-signature"].split(" ")) == 2
    assert Webhook(old).verify(body, during)["data"]["reference"] == "2026-0920"
    assert Webhook(new).verify(body, during)["data"]["reference"] == "2026-0920"
    assert len(after["webhook-signature"].split(" ")) == 1
    assert Webhook(new).verify(later_body, after)["data"]["reference"] == "2026-0921"
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(later_body, after)
    assert entry.actor_id == cast.alice.pk
    assert new not in entry.data
    assert old not in entry.data


def test_an_endpoint_gets_only_the_events_it_subscribed_to(cast: Cast, receiver: Receiver) -> None:
    _endpoint(cast, receiver.url, events=["invoice.paid"])

    _open_matter(cast)

    with cast.firm.tenant:
        assert not WebhookEvent.objects.exists()
    assert json.dumps(receiver.received) == "[]"


# --- The staff page ------------------------------------------------------------------------------


def test_a_firm_admin_adds_an_endpoint_sees_its_deliveries_and_turns_it_off(cast: Cast, receiver: Receiver) -> None:
    import re

    admin = cast.firm.client(cast.alice)

    added = admin.post("/staff/webhooks/", {"url": receiver.url, "events": ["matter.opened"]})
    secret = re.search(r'data-testid="endpoint-secret">(whsec_[^<]+)<', added.content.decode())

    assert added.status_code == 201
    assert secret is not None
    _open_matter(cast)
    with cast.firm.tenant:
        delivery_attempt(delivery=_delivery(cast))
    [(headers, body)] = receiver.received
    assert Webhook(secret.group(1)).verify(body, headers)["type"] == "matter.opened"
    log = admin.get("/staff/webhooks/").content.decode()
    assert "matter.opened" in log
    assert "delivered" in log
    assert secret.group(1) not in log  # shown once
    endpoint = _delivery(cast).endpoint

    assert admin.post(f"/staff/webhooks/{endpoint.pk}/disable/").status_code == 302
    with cast.firm.tenant:
        endpoint.refresh_from_db()
        assert not endpoint.active
        found = AuditEntry.objects.filter(action__startswith="webhook_endpoint.")
        actions = set(found.values_list("action", flat=True))
    assert actions == {"webhook_endpoint.created", "webhook_endpoint.disabled"}


def test_a_bad_endpoint_address_is_refused_with_a_message(cast: Cast) -> None:
    refused = cast.firm.client(cast.alice).post("/staff/webhooks/", {"url": "ftp://example.test/x"})

    assert refused.status_code == 400
    assert "Give the endpoint&#x27;s full address (https or http)." in refused.content.decode()
    with cast.firm.tenant:
        assert not WebhookEndpoint.objects.exists()


def test_only_firm_admins_reach_the_webhooks_page_others_get_404(cast: Cast, firm_b: Firm) -> None:
    endpoint = _endpoint(cast, "https://hooks.acme.test/x")
    disable = f"/staff/webhooks/{endpoint.pk}/disable/"

    for person in (cast.paula, cast.arthur, cast.bill, cast.carol, cast.charlie):
        client = cast.firm.client(person)
        assert client.get("/staff/webhooks/").status_code == 404, person.email
        assert client.post(disable).status_code == 404, person.email
    assert firm_b.client(firm_b.admin).post(disable).status_code == 404
    with cast.firm.tenant:
        endpoint.refresh_from_db()
    assert endpoint.active


def test_retry_after_is_read_as_seconds_or_an_http_date_and_capped(cast: Cast, receiver: Receiver) -> None:
    from django.utils.http import http_date

    from core.webhooks.addresses import retry_after_seconds

    in_an_hour = http_date((timezone.now() + timedelta(hours=1)).timestamp())
    assert retry_after_seconds("120") == 120.0
    assert 3590 < retry_after_seconds(in_an_hour) <= 3600
    assert retry_after_seconds("soon") == 0.0
    assert retry_after_seconds(None) == 0.0
    _endpoint(cast, receiver.url)
    _open_matter(cast)
    receiver.answers = [(429, {"Retry-After": str(30 * 24 * 3600)})]  # a month: more than we wait
    with cast.firm.tenant:
        attempt = delivery_attempt(delivery=_delivery(cast))
    assert attempt.retry_in == 24 * 3600.0


def test_the_sweep_finds_endpoints_with_a_delivery_due(cast: Cast, receiver: Receiver) -> None:
    """What the scheduled sweep re-queues, should a task have been lost (a worker killed outright)."""
    from core.webhooks.delivery import endpoints_due

    endpoint = _endpoint(cast, receiver.url)
    idle = _endpoint(cast, receiver.url, events=["invoice.paid"])
    _open_matter(cast)
    with cast.firm.tenant:
        due_now = endpoints_due()
        receiver.answers = [(500, {})]
        endpoint_deliver_next(endpoint_id=endpoint.pk)
        waiting = endpoints_due()
        later = endpoints_due(now=timezone.now() + timedelta(seconds=RETRY_SCHEDULE[0] + 1))

    assert due_now == [endpoint.pk]
    assert idle.pk not in due_now
    assert waiting == []
    assert later == [endpoint.pk]


def test_a_flow_of_events_queues_one_task_per_endpoint_until_it_starts(
    cast: Cast,
    receiver: Receiver,
    settings: Settings,
    django_capture_on_commit_callbacks: object,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Read from the real broker: events committed while a task waits add no task; once it starts, they do.

    The mark needs a cache that the web processes and the workers share (Redis). Here the sender and the
    task's start both run in this process, so its own cache is shared between them, whatever the run's."""
    from core.celery import app as celery_app
    from core.webhooks import events
    from core.webhooks.events import endpoint_task_started

    monkeypatch.setattr(events, "_cache_is_shared", lambda: True)
    settings.PORTICO_WEBHOOKS_QUEUE = queue = f"portico-test-{secrets.token_hex(4)}"
    endpoint = _endpoint(cast, receiver.url)

    def commit_an_event(reference: str) -> None:
        with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
            _open_matter(cast, reference)

    with celery_app.connection_for_write() as broker:
        waiting = broker.SimpleQueue(queue)
        try:
            for number in range(3):
                commit_an_event(f"2026-093{number}")
            first = waiting.get(timeout=5)
            args = first.payload[0]  # Celery's message body: [args, kwargs, embed]
            first.ack()
            with pytest.raises(waiting.Empty):  # three events, one task
                waiting.get(timeout=1)
            endpoint_task_started(args[1])
            commit_an_event("2026-0939")
            second = waiting.get(timeout=5)
            second.ack()
        finally:
            waiting.clear()
            waiting.close()

    assert args[0] == endpoint.pk
    assert second.payload[0][0] == endpoint.pk


def test_without_a_shared_cache_each_event_queues_its_own_task(
    cast: Cast,
    receiver: Receiver,
    settings: Settings,
    django_capture_on_commit_callbacks: object,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without Redis each process has its own cache: a worker could never take a sender's mark down, so no
    mark is set and every event sends a task (the task finds the endpoint's due deliveries itself)."""
    from core.celery import app as celery_app
    from core.webhooks import events

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert not events._cache_is_shared()
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://x"}}
    assert events._cache_is_shared()
    monkeypatch.setattr(events, "_cache_is_shared", lambda: False)
    settings.PORTICO_WEBHOOKS_QUEUE = queue = f"portico-test-{secrets.token_hex(4)}"
    endpoint = _endpoint(cast, receiver.url)

    with celery_app.connection_for_write() as broker:
        waiting = broker.SimpleQueue(queue)
        try:
            for number in range(3):
                with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
                    _open_matter(cast, f"2026-094{number}")
            tasks = [waiting.get(timeout=5) for _ in range(3)]
            for task in tasks:
                task.ack()
        finally:
            waiting.clear()
            waiting.close()

    assert [task.payload[0] for task in tasks] == [[endpoint.pk, None]] * 3
