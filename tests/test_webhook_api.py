"""The webhooks API (/api/v1/webhooks/...): endpoints CRUD, delivery log, rotation, replay; ``webhooks:manage``.

Deliveries go to a real receiver on loopback (``tests.support.webhooks``); the
tests call what the Celery task calls instead of running a worker.
"""

from __future__ import annotations

from django.test import Client
from standardwebhooks.webhooks import Webhook

from core.api_tokens import token_issue
from core.audit.models import AuditEntry
from core.matters import matter_create
from core.models import User, WebhookEndpoint
from core.webhooks import endpoint_deliver_next
from tests.support.cast import Cast
from tests.support.firms import Firm
from tests.support.webhooks import Receiver

BASE = "/api/v1/webhooks/endpoints"


def _token(cast: Cast, user: User, *scopes: str) -> Client:
    with cast.firm.tenant:
        issued = token_issue(user=user, label="Hooks", scopes=scopes or ["webhooks:manage"], days=30, by=cast.alice)
    return Client(HTTP_HOST=cast.firm.host, HTTP_AUTHORIZATION=f"Bearer {issued.text}")


def test_an_admins_token_manages_endpoints_reads_the_log_rotates_and_replays(cast: Cast, receiver: Receiver) -> None:
    api = _token(cast, cast.alice)

    created = api.post(BASE, {"url": receiver.url, "events": ["matter.opened"]}, content_type="application/json")
    assert created.status_code == 201, created.content
    endpoint_id, secret = created.json()["id"], created.json()["secret"]
    assert "secret" not in api.get(f"{BASE}/{endpoint_id}").json()
    assert [e["id"] for e in api.get(BASE).json()["results"]] == [endpoint_id]
    with cast.firm.tenant:
        matter_create(reference="2026-0970", title="x", matter_type="I-130", client=cast.carol, by=cast.alice)
        endpoint_deliver_next(endpoint_id=endpoint_id)
    [(headers, body)] = receiver.received
    assert Webhook(secret).verify(body, headers)["data"]["reference"] == "2026-0970"

    [logged] = api.get(f"{BASE}/{endpoint_id}/deliveries").json()["results"]
    assert (logged["status"], logged["attempts"], logged["last_status_code"], logged["request_body"]) == (
        "delivered",
        1,
        200,
        body,
    )
    replayed = api.post(f"{BASE}/{endpoint_id}/deliveries/{logged['id']}/replay")
    assert replayed.status_code == 202
    assert replayed.json()["replay_of"] == logged["id"]
    rotated = api.post(f"{BASE}/{endpoint_id}/rotate").json()
    assert rotated["secret"].startswith("whsec_")
    assert rotated["secret"] != secret
    changed = api.patch(f"{BASE}/{endpoint_id}", {"events": []}, content_type="application/json")
    assert changed.json()["events"] == []
    assert api.delete(f"{BASE}/{endpoint_id}").json()["active"] is False
    assert api.get(f"{BASE}/{endpoint_id}").json()["active"] is False

    with cast.firm.tenant:
        actions = sorted(AuditEntry.objects.filter(action__startswith="webhook_").values_list("action", flat=True))
    assert actions == [
        "webhook_delivery.replayed",
        "webhook_endpoint.changed",
        "webhook_endpoint.created",
        "webhook_endpoint.disabled",
        "webhook_endpoint.secret_rotated",
    ]


def test_a_bad_address_or_event_is_refused_in_the_one_error_shape(cast: Cast) -> None:
    api = _token(cast, cast.alice)

    refused = api.post(BASE, {"url": "ftp://x.test/", "events": ["nope"]}, content_type="application/json")
    bad_url = api.post(BASE, {"url": "ftp://x.test/"}, content_type="application/json")

    assert refused.status_code == 400
    assert set(refused.json()["error"]["fields"]) == {"events.0", "url"}  # both, at once
    assert bad_url.status_code == 400
    assert "url" in bad_url.json()["error"]["fields"]
    with cast.firm.tenant:
        assert not WebhookEndpoint.objects.exists()


def test_without_the_scope_403_and_for_anyone_but_the_firms_admin_404(cast: Cast, firm_b: Firm) -> None:
    with cast.firm.tenant:
        endpoint = WebhookEndpoint.objects.create(url="https://hooks.acme.test/x", secret="whsec_x")
    paths = [BASE, f"{BASE}/{endpoint.pk}", f"{BASE}/{endpoint.pk}/deliveries"]

    lacking = _token(cast, cast.alice, "matters:read", "matters:write")
    assert [lacking.get(p).status_code for p in paths] == [403, 403, 403]
    for person in (cast.paula, cast.arthur, cast.bill):  # staff, with the scope, but not firm admins
        api = _token(cast, person)
        assert [api.get(p).status_code for p in paths] == [404, 404, 404], person.email
        assert api.post(f"{BASE}/{endpoint.pk}/rotate").status_code == 404
        assert api.delete(f"{BASE}/{endpoint.pk}").status_code == 404
    for person in (cast.carol, cast.charlie):  # signed in through the browser
        assert cast.firm.client(person).get(BASE).status_code in (403, 404), person.email
        assert cast.firm.client(person).get(f"{BASE}/{endpoint.pk}").status_code == 404, person.email
    other_admin = firm_b.client(firm_b.admin)
    assert other_admin.get(f"{BASE}/{endpoint.pk}").status_code == 404
    assert other_admin.get(BASE).json()["results"] == []  # their own firm's endpoints: none
    with cast.firm.tenant:
        endpoint.refresh_from_db()
    assert endpoint.active
