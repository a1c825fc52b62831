"""The firm admin's endpoint page: delivery log, replay, secret rotation, turning an endpoint back on; 404 for others.

Deliveries go to a real receiver on loopback (``tests.support.webhooks``); the
tests call what the Celery task calls instead of running a worker.
"""

from __future__ import annotations

import html
import json
import re

from standardwebhooks.webhooks import Webhook

from core.audit.models import AuditEntry
from core.matters import matter_create
from core.models import WebhookDelivery, WebhookEndpoint
from core.webhooks import endpoint_deliver_next, endpoint_disable, endpoint_secret_new
from tests.support.cast import Cast
from tests.support.firms import Firm
from tests.support.webhooks import Receiver


def _endpoint(cast: Cast, url: str) -> WebhookEndpoint:
    with cast.firm.tenant:
        return WebhookEndpoint.objects.create(url=url, secret=endpoint_secret_new())


def _open_and_deliver(cast: Cast, endpoint: WebhookEndpoint, reference: str = "2026-0960") -> WebhookDelivery:
    with cast.firm.tenant:
        matter_create(reference=reference, title="x", matter_type="I-130", client=cast.carol, by=cast.alice)
        endpoint_deliver_next(endpoint_id=endpoint.pk)
        return WebhookDelivery.objects.select_related("event").order_by("-id")[0]


def test_the_delivery_log_shows_request_status_latency_response_attempts_and_next_attempt(
    cast: Cast, receiver: Receiver
) -> None:
    endpoint = _endpoint(cast, receiver.url)
    receiver.answers = [(503, {"Retry-After": "90"})]
    delivery = _open_and_deliver(cast, endpoint)

    page = cast.firm.client(cast.alice).get(f"/staff/webhooks/{endpoint.pk}/")
    row = re.search(rf'<tr data-testid="delivery-{delivery.pk}">(.*?)</tr>', page.content.decode(), re.S)

    assert page.status_code == 200
    assert row is not None
    cells = row.group(1)
    [(_, sent)] = receiver.received
    assert html.escape(sent) in cells  # the exact body that was signed and sent
    assert "pending" in cells
    assert "<td>1</td>" in cells  # attempts
    assert "<td>503</td>" in cells
    assert f"<td>{delivery.last_latency_ms}</td>" in cells
    assert "busy, try later" in cells
    assert delivery.next_attempt_at is not None
    assert str(delivery.next_attempt_at.year) in cells


def test_a_replay_sends_the_same_event_id_again_and_is_audited(cast: Cast, receiver: Receiver) -> None:
    endpoint = _endpoint(cast, receiver.url)
    delivery = _open_and_deliver(cast, endpoint)
    admin = cast.firm.client(cast.alice)

    replayed = admin.post(f"/staff/webhooks/{endpoint.pk}/deliveries/{delivery.pk}/replay/")
    with cast.firm.tenant:
        endpoint_deliver_next(endpoint_id=endpoint.pk)
        replays = list(WebhookDelivery.objects.filter(replay_of=delivery).values_list("status", flat=True))
        [entry] = AuditEntry.objects.filter(action="webhook_delivery.replayed")

    assert replayed.status_code == 302
    assert replays == ["delivered"]
    assert [headers["webhook-id"] for headers, _ in receiver.received] == [delivery.event.event_id] * 2
    assert Webhook(endpoint.secret).verify(receiver.received[1][1], receiver.received[1][0])["type"] == "matter.opened"
    assert entry.actor_id == cast.alice.pk
    assert json.loads(entry.data)["event"] == delivery.event.event_id
    assert "(replay)" in admin.get(f"/staff/webhooks/{endpoint.pk}/").content.decode()


def test_rotating_shows_the_new_secret_once_and_both_sign_meanwhile(cast: Cast, receiver: Receiver) -> None:
    endpoint = _endpoint(cast, receiver.url)
    admin = cast.firm.client(cast.alice)

    rotated = admin.post(f"/staff/webhooks/{endpoint.pk}/rotate/").content.decode()
    secret = re.search(r'data-testid="endpoint-secret">(whsec_[^<]+)<', rotated)
    assert secret is not None
    _open_and_deliver(cast, endpoint)

    [(headers, body)] = receiver.received
    assert Webhook(secret.group(1)).verify(body, headers)["type"] == "matter.opened"
    assert Webhook(endpoint.secret).verify(body, headers)["type"] == "matter.opened"  # the old one, in its grace
    assert secret.group(1) not in admin.get(f"/staff/webhooks/{endpoint.pk}/").content.decode()


def test_an_endpoint_turned_off_can_be_turned_back_on_and_changed(cast: Cast) -> None:
    endpoint = _endpoint(cast, "https://hooks.acme.test/old")
    with cast.firm.tenant:
        endpoint_disable(endpoint=endpoint, by=None, reason="the endpoint answered 410 Gone.")
    admin = cast.firm.client(cast.alice)
    assert "410 Gone" in admin.get(f"/staff/webhooks/{endpoint.pk}/").content.decode()

    saved = admin.post(
        f"/staff/webhooks/{endpoint.pk}/",
        {"url": "https://hooks.acme.test/new", "events": ["invoice.paid", "matter.opened"], "active": "on"},
    )
    refused = admin.post(f"/staff/webhooks/{endpoint.pk}/", {"url": "nope", "events": ["bogus.event"]})

    assert saved.status_code == 302
    assert refused.status_code == 400
    assert "Unknown events: bogus.event." in refused.content.decode()
    with cast.firm.tenant:
        endpoint.refresh_from_db()
        [entry] = AuditEntry.objects.filter(action="webhook_endpoint.changed")
    assert (endpoint.url, endpoint.events, endpoint.active) == (
        "https://hooks.acme.test/new",
        ["invoice.paid", "matter.opened"],
        True,
    )
    assert json.loads(entry.data)["before"]["active"] is False
    assert json.loads(entry.data)["after"] == (
        {"url": "https://hooks.acme.test/new", "events": ["invoice.paid", "matter.opened"], "active": True}
    )


def test_only_the_firms_admins_reach_an_endpoint_page_and_its_actions(cast: Cast, firm_b: Firm) -> None:
    endpoint = _endpoint(cast, "https://hooks.acme.test/x")
    with cast.firm.tenant:
        from core.models import WebhookEvent

        event = WebhookEvent.objects.create(event_id="msg_x", type="matter.opened", payload={"type": "matter.opened"})
        delivery = WebhookDelivery.objects.create(event=event, endpoint=endpoint)
    page = f"/staff/webhooks/{endpoint.pk}/"
    actions = [f"{page}rotate/", f"{page}deliveries/{delivery.pk}/replay/", page]

    for person in (cast.paula, cast.arthur, cast.bill, cast.carol, cast.charlie):
        client = cast.firm.client(person)
        assert client.get(page).status_code == 404, person.email
        for action in actions:
            assert client.post(action, {"url": "https://evil.test/", "active": "on"}).status_code == 404, person.email
    other_admin = firm_b.client(firm_b.admin)
    assert other_admin.get(page).status_code == 404
    assert all(other_admin.post(action).status_code == 404 for action in actions)
    with cast.firm.tenant:
        endpoint.refresh_from_db()
        assert WebhookDelivery.objects.count() == 1
        assert not AuditEntry.objects.filter(action__startswith="webhook_").exists()
    assert endpoint.url == "https://hooks.acme.test/x"
    assert cast.firm.client(cast.alice).post(f"{page}deliveries/{delivery.pk + 999}/replay/").status_code == 404
