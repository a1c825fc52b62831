"""Outgoing webhooks (issue 14 item 4, first slice): the outbox, Standard Webhooks signatures, retries.

A real HTTP receiver on loopback (``http.server`` in a thread) takes the
deliveries and checks them with the ``standardwebhooks`` library, as an
integration would. The Celery task is not run by a worker here: the test runs
the attempt it calls (``core.webhooks.delivery_attempt``) and asserts that the
task is queued only once the change has committed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import transaction
from standardwebhooks.webhooks import Webhook

from core.audit.models import AuditEntry
from core.matters import matter_create
from core.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from core.webhooks import RETRY_SCHEDULE, delivery_attempt, endpoint_secret_new
from tests.support.cast import Cast
from tests.support.firms import Firm
from tests.support.servers import free_port


@dataclass
class Receiver:
    url: str
    answers: list[tuple[int, dict[str, str]]] = field(default_factory=list)  # given in order, then 200
    received: list[tuple[dict[str, str], str]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    port = free_port()
    state = Receiver(url=f"http://127.0.0.1:{port}/hooks/portico")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            state.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            status, headers = state.answers.pop(0) if state.answers else (200, {})
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(b"ok" if status == 200 else b"busy, try later")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


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
    assert verified["data"]["client"] == "carol@acme.test"
    assert headers["webhook-id"] == delivery.event.event_id
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    assert delivery.last_status_code == 200
    assert delivery.last_response == "ok"
    assert delivery.last_latency_ms is not None


def test_a_tampered_body_or_another_secret_does_not_verify(cast: Cast, receiver: Receiver) -> None:
    from standardwebhooks.webhooks import WebhookVerificationError

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


def test_a_delivery_that_never_succeeds_fails_after_the_schedule(cast: Cast) -> None:
    _endpoint(cast, f"http://127.0.0.1:{free_port()}/nobody-listens")
    _open_matter(cast)

    with cast.firm.tenant:
        outcomes = [delivery_attempt(delivery=_delivery(cast)) for _ in range(len(RETRY_SCHEDULE) + 1)]
    delivery = _delivery(cast)

    assert [o.retry_in for o in outcomes] == [float(s) for s in RETRY_SCHEDULE] + [None]
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert "ConnectionRefusedError" in delivery.last_response or "URLError" in delivery.last_response
    assert sum(RETRY_SCHEDULE) > 2.5 * 24 * 3600  # about 3 days in all


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
