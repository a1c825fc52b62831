"""Payment plans through the API (issue 12 item 8): list, detail with installments, offer, start, cancel under
/api/v1/billing/plans, with the pages' access rules and billing's token scopes.

Real parts: localstripe (PyPI) as a subprocess holds the Customer and the SetupIntent
(and confirms it with a card, as Stripe.js would in the client's app); the recording
front of ``tests/support/stripe.py`` stands in for Connect and records each call's
``Stripe-Account`` and ``Idempotency-Key`` headers (localstripe ignores both).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.test import Client
from django.utils import timezone

from billing.stripe.models import PaymentPlan
from core.api_tokens import token_issue
from core.audit.models import AuditEntry
from core.models import IdempotencyKey
from tests.support.billing import issued
from tests.support.cast import Cast
from tests.support.firms import Firm
from tests.support.stripe import StripeFront
from tests.test_payment_plans import GOOD_CARD, operating_account, save_card

BASE = "/api/v1/billing/plans"


def post(client: Client, url: str, body: dict[str, Any], key: str | None = None) -> Any:
    headers = {"Idempotency-Key": key} if key else {}
    return client.post(url, body, content_type="application/json", headers=headers)


def _offered(cast: Cast, key: str = "plan-1") -> dict[str, Any]:
    with cast.firm.tenant:
        invoice = issued(cast.lucia_matter, cast.alice, "PET-FLAT")
    first = (timezone.localdate() + timedelta(days=2)).isoformat()
    body = {"invoice": invoice.pk, "installments": 3, "interval": "monthly", "first_due_on": first}
    made = post(cast.client_of(cast.bill), BASE, body, key=key)
    assert made.status_code == 201, made.content
    return made.json()  # type: ignore[no-any-return]


def test_billing_staff_offer_a_plan_once_for_a_retried_post_and_each_sees_only_whats_theirs(
    cast: Cast, firm_b: Firm, stripe_front: StripeFront
) -> None:
    operating_account(cast)
    with cast.firm.tenant:
        invoice = issued(cast.lucia_matter, cast.alice, "PET-FLAT")
    bill = cast.client_of(cast.bill)
    first = (timezone.localdate() + timedelta(days=2)).isoformat()
    body = {"invoice": invoice.pk, "installments": 3, "interval": "monthly", "first_due_on": first}
    made = post(bill, BASE, body, key="offer-1")
    again = post(bill, BASE, body, key="offer-1")
    assert made.status_code == 201, made.content
    assert (again.json(), again["Idempotent-Replayed"]) == (made.json(), "true")
    plan = made.json()
    assert (plan["status"], plan["client"], plan["invoice"]) == (
        "proposed",
        "lucia@example.test",
        invoice.display_number,
    )
    assert [row["amount_minor"] for row in plan["installments"]] == [
        invoice.balance_due_minor // 3,
        invoice.balance_due_minor // 3,
        invoice.balance_due_minor - 2 * (invoice.balance_due_minor // 3),
    ]
    assert [row["status"] for row in plan["installments"]] == ["scheduled"] * 3
    with cast.firm.tenant:
        assert PaymentPlan.objects.filter(invoice=invoice).count() == 1
        assert AuditEntry.objects.get(action="payment_plan.offer").actor_email == "bill@acme.test"
    twice = post(bill, BASE, body, key="offer-2")
    assert twice.status_code == 400
    assert "already has a plan" in twice.json()["error"]["message"]
    past = post(bill, BASE, {**body, "first_due_on": "2020-01-01", "installments": 1}, key="offer-3")
    assert past.status_code == 400
    assert "installments" in past.json()["error"]["fields"]

    assert [row["id"] for row in bill.get(f"{BASE}?status=proposed").json()["results"]] == [plan["id"]]
    assert bill.get(f"{BASE}?status=active").json()["results"] == []
    assert bill.get(f"{BASE}?status=lost").status_code == 400
    lucia = cast.client_of(cast.lucia)
    assert [row["id"] for row in lucia.get(BASE).json()["results"]] == [plan["id"]]
    assert lucia.get(f"{BASE}/{plan['id']}").json()["installments"] == plan["installments"]
    assert post(lucia, BASE, body).status_code == 403  # a client offers nothing
    for outsider in (cast.client_of(cast.dora), firm_b.client(firm_b.admin)):
        assert outsider.get(BASE).json()["results"] == []
        assert outsider.get(f"{BASE}/{plan['id']}").status_code == 404
        assert post(outsider, BASE, body).status_code == 404  # the invoice is not theirs to name
        assert post(outsider, f"{BASE}/{plan['id']}/start", {}).status_code == 404
        assert post(outsider, f"{BASE}/{plan['id']}/cancel", {}).status_code == 404
    assert Client(HTTP_HOST=cast.firm.host).get(BASE).status_code in (401, 403)


def test_the_client_starts_her_plan_and_gets_what_stripe_js_needs_on_the_operating_account(
    cast: Cast, stripe_front: StripeFront
) -> None:
    operating = operating_account(cast)
    plan = _offered(cast)
    url = f"{BASE}/{plan['id']}/start"
    refused = post(cast.client_of(cast.bill), url, {})
    assert refused.status_code == 403
    assert "Only the plan's client" in refused.json()["error"]["message"]
    lucia = cast.client_of(cast.lucia)
    started = post(lucia, url, {}, key="start-1")
    assert started.status_code == 200, started.content
    answer = started.json()
    assert answer["setup_intent"].startswith("seti_")
    assert answer["client_secret"].startswith(f"{answer['setup_intent']}_secret")
    assert answer["stripe_account"] == operating.stripe_account_id
    assert answer["plan"]["status"] == "proposed"  # not before Stripe says the card is saved
    replayed = post(lucia, url, {}, key="start-1")  # a retried POST: replayed, the secret never stored
    assert (replayed["Idempotent-Replayed"], replayed.json()) == ("true", {**answer, "client_secret": ""})
    with cast.firm.tenant:
        assert not IdempotencyKey.objects.filter(body__client_secret=answer["client_secret"]).exists()
    assert post(lucia, url, {}).json() == answer  # asked again: the same SetupIntent and its secret
    (setup,) = stripe_front.made("POST", "/v1/setup_intents")
    assert setup.stripe_account == operating.stripe_account_id
    assert setup.form["usage"] == ["off_session"]
    with cast.firm.tenant:
        assert setup.idempotency_key == PaymentPlan.objects.get(pk=plan["id"]).setup_idempotency_key

    save_card(stripe_front, answer["setup_intent"], GOOD_CARD)  # Stripe.js in the client's app
    done = post(lucia, url, {}).json()
    assert (done["plan"]["status"], done["client_secret"], done["setup_intent"]) == ("active", "", "")
    assert lucia.get(f"{BASE}/{plan['id']}").json()["accepted_at"]
    assert len(stripe_front.made("POST", "/v1/setup_intents")) == 1
    with cast.firm.tenant:
        assert AuditEntry.objects.get(action="payment_plan.accept").actor_email == "lucia@example.test"
    again = post(lucia, url, {})
    assert again.status_code == 400
    assert again.json()["error"]["message"] == "Este plan de pagos ya no se puede aceptar."  # her language


def test_billing_staff_cancel_a_plan_through_the_api_once(cast: Cast, stripe_front: StripeFront) -> None:
    operating_account(cast)
    plan = _offered(cast)
    url = f"{BASE}/{plan['id']}/cancel"
    assert post(cast.client_of(cast.lucia), url, {"reason": "x"}).status_code == 403
    assert post(cast.client_of(cast.pete), url, {"reason": "x"}).status_code == 404  # staff, not billing
    bill = cast.client_of(cast.bill)
    cancelled = post(bill, url, {"reason": "paid by check"}, key="cancel-1")
    assert cancelled.status_code == 200, cancelled.content
    body = cancelled.json()
    assert (body["status"], body["end_reason"]) == ("cancelled", "paid by check")
    assert {row["status"] for row in body["installments"]} == {"cancelled"}
    assert post(bill, url, {"reason": "paid by check"}, key="cancel-1").json() == body
    twice = post(bill, url, {"reason": "again"})
    assert twice.status_code == 400
    assert "Only an offered or active plan" in twice.json()["error"]["message"]
    with cast.firm.tenant:
        (entry,) = AuditEntry.objects.filter(action="payment_plan.cancel")
        assert (entry.actor_email, entry.data_dict["reason"]) == ("bill@acme.test", "paid by check")
    lucia_page = cast.client_of(cast.lucia).get(f"/portal/billing/plans/{plan['id']}/").content.decode()
    assert "Este plan fue cancelado" in lucia_page


def test_a_token_reads_plans_with_billing_read_and_writes_them_only_with_billing_write(
    cast: Cast, stripe_front: StripeFront
) -> None:
    operating_account(cast)
    plan = _offered(cast)
    with cast.firm.tenant:
        reader = token_issue(user=cast.bill, label="Books", scopes=["billing:read"], days=30, by=cast.alice)
        writer = token_issue(user=cast.bill, label="Sync", scopes=["billing:write"], days=30, by=cast.alice)
    read = Client(HTTP_HOST=cast.firm.host, HTTP_AUTHORIZATION=f"Bearer {reader.text}")
    write = Client(HTTP_HOST=cast.firm.host, HTTP_AUTHORIZATION=f"Bearer {writer.text}")
    assert read.get(f"{BASE}/{plan['id']}").json()["id"] == plan["id"]
    assert post(read, f"{BASE}/{plan['id']}/cancel", {}).status_code == 403
    assert write.get(BASE).status_code == 403
    assert post(write, f"{BASE}/{plan['id']}/cancel", {}).json()["status"] == "cancelled"
