"""Online payments through the API (issue 12 item 8): payments, payment links, refunds, trust refund approvals,
retainer requests under /api/v1/billing/, with the pages' access rules.

Real parts: localstripe (PyPI) as a subprocess holds the PaymentIntents and takes the
refunds; the recording front of ``tests/support/stripe.py`` stands in for Connect
(the ``Stripe-Account`` header, which localstripe ignores) and records each call's
account and ``Idempotency-Key``. Events are built around the PaymentIntent as
localstripe holds it and applied by ``billing.stripe.webhooks``
(``tests/support/online_payments.py``).
"""

from __future__ import annotations

from typing import Any

from django.test import Client

from billing.ledger.accounts import account_for
from billing.ledger.models import Account
from billing.ledger.selectors import balance
from billing.money import Money
from billing.stripe.models import RetainerRequest, TrustCardRefund
from core.api_tokens import token_issue
from tests.support.billing import issued
from tests.support.cast import Cast
from tests.support.firms import Firm
from tests.support.online_payments import accounts_enabled, invoice_paid, refunded_at_stripe, retainer_paid
from tests.support.stripe import StripeFront

BASE = "/api/v1/billing"


def post(client: Client, url: str, body: dict[str, Any], key: str | None = None) -> Any:
    headers = {"Idempotency-Key": key} if key else {}
    return client.post(url, body, content_type="application/json", headers=headers)


def test_payments_list_pages_filters_and_shows_a_client_only_their_own(
    books: Cast, firm_b: Firm, stripe_front: StripeFront
) -> None:
    accounts = accounts_enabled(books.alice)
    retainer = retainer_paid(stripe_front, accounts, matter=books.lucia_matter, amount=Money(80_00), by=books.bill)
    invoice = invoice_paid(stripe_front, accounts, issued(books.dora_matter, books.alice, "PET-FLAT"))
    bill = books.client_of(books.bill)

    first = bill.get(f"{BASE}/payments?limit=1").json()
    second = bill.get(first["next"]).json()
    assert [row["id"] for row in first["results"] + second["results"]] == [retainer.pk, invoice.pk]
    assert first["results"][0]["account_kind"] == "trust"
    assert first["results"][0]["stripe_account"] == accounts["trust"].stripe_account_id
    trust_only = bill.get(f"{BASE}/payments?account=trust").json()["results"]
    assert [row["id"] for row in trust_only] == [retainer.pk]
    by_client = bill.get(f"{BASE}/payments?client=dora@example.test&status=succeeded").json()["results"]
    assert [row["invoice"] for row in by_client] == [invoice.invoice.display_number]  # type: ignore[union-attr]
    refused = bill.get(f"{BASE}/payments?status=lost")
    assert refused.status_code == 400
    assert "status" in refused.json()["error"]["fields"]

    assert [row["id"] for row in books.client_of(books.lucia).get(f"{BASE}/payments").json()["results"]] == [
        retainer.pk
    ]
    assert books.client_of(books.carol).get(f"{BASE}/payments").json()["results"] == []
    assert firm_b.client(firm_b.admin).get(f"{BASE}/payments").json()["results"] == []


def test_a_payments_detail_carries_its_entries_and_events_for_billing_staff_only(
    books: Cast, firm_b: Firm, stripe_front: StripeFront
) -> None:
    payment = retainer_paid(
        stripe_front, accounts_enabled(books.alice), matter=books.lucia_matter, amount=Money(80_00), by=books.bill
    )
    url = f"{BASE}/payments/{payment.pk}"
    detail = books.client_of(books.bill).get(url)
    assert detail.status_code == 200
    assert detail.has_header("ETag")
    body = detail.json()
    assert body["payment_intent_id"] == payment.payment_intent_id
    [entry] = body["entries"]
    assert entry["kind"] == "trust.deposit"
    assert {line["debit_minor"] + line["credit_minor"] for line in entry["lines"]} == {80_00}
    assert [event["type"] for event in body["events"]] == ["payment_intent.succeeded"]
    assert books.client_of(books.lucia).get(url).status_code == 403
    for outsider in (books.client_of(books.dora), firm_b.client(firm_b.admin)):
        assert outsider.get(url).status_code == 404
    assert Client(HTTP_HOST=books.firm.host).get(url).status_code in (401, 403)


def test_a_payment_link_is_the_clients_pay_page_for_an_open_invoice_or_retainer(
    books: Cast, firm_b: Firm, stripe_front: StripeFront
) -> None:
    invoice = issued(books.lucia_matter, books.alice, "PET-FLAT")
    retainer = RetainerRequest.objects.create(
        client=books.lucia,
        matter=books.lucia_matter,
        amount_minor=90_00,
        currency="USD",
        purpose="x",
        requested_by=books.bill,
    )
    bill = books.client_of(books.bill)
    link = post(bill, f"{BASE}/payment-links", {"invoice": invoice.pk})
    assert link.status_code == 200, link.content
    assert link.json()["url"] == f"http://{books.firm.host}/portal/billing/invoices/{invoice.pk}/pay/"
    assert link.json()["amount_minor"] == invoice.balance_due_minor
    own = post(books.client_of(books.lucia), f"{BASE}/payment-links", {"retainer": retainer.pk}).json()
    assert own["url"].endswith(f"/portal/billing/retainers/{retainer.pk}/pay/")
    for outsider in (books.client_of(books.dora), firm_b.client(firm_b.admin)):
        assert post(outsider, f"{BASE}/payment-links", {"invoice": invoice.pk}).status_code == 404
    assert post(bill, f"{BASE}/payment-links", {}).status_code == 400
    assert post(bill, f"{BASE}/payment-links", {"invoice": "abc"}).status_code == 404
    paid = invoice_paid(stripe_front, accounts_enabled(books.alice), invoice)
    assert paid.status == "succeeded"
    closed = post(bill, f"{BASE}/payment-links", {"invoice": invoice.pk})
    assert closed.status_code == 400
    assert "nothing left to pay" in closed.json()["error"]["fields"]["invoice"][0]


def test_an_invoice_payment_is_refunded_once_for_a_retried_post(books: Cast, stripe_front: StripeFront) -> None:
    accounts = accounts_enabled(books.alice)
    payment = invoice_paid(stripe_front, accounts, issued(books.lucia_matter, books.alice, "PET-FLAT"))
    bill = books.client_of(books.bill)
    body = {"payment": payment.pk, "amount_minor": 40_00}
    first = post(bill, f"{BASE}/refunds", body, key="refund-1")
    again = post(bill, f"{BASE}/refunds", body, key="refund-1")
    assert first.status_code == 201, first.content
    assert first.json()["status"] == "asked"
    assert first.json()["stripe_refund_id"].startswith("re_")
    assert (again.json(), again["Idempotent-Replayed"]) == (first.json(), "true")
    (call,) = stripe_front.made("POST", "/v1/refunds")
    assert call.stripe_account == accounts["operating"].stripe_account_id
    too_much = post(bill, f"{BASE}/refunds", {"payment": payment.pk, "amount_minor": payment.amount_minor})
    assert too_much.status_code == 400
    assert "can be refunded" in too_much.json()["error"]["message"] + str(too_much.json()["error"]["fields"])
    assert post(books.client_of(books.lucia), f"{BASE}/refunds", body).status_code == 403
    assert post(books.client_of(books.pete), f"{BASE}/refunds", body).status_code == 404  # staff, not billing
    assert len(stripe_front.made("POST", "/v1/refunds")) == 1


def test_a_retainer_refund_through_the_api_needs_two_approvers_before_stripe(
    books: Cast, firm_b: Firm, stripe_front: StripeFront
) -> None:
    payment = retainer_paid(
        stripe_front, accounts_enabled(books.alice), matter=books.lucia_matter, amount=Money(300_00), by=books.bill
    )
    asked = post(books.client_of(books.bill), f"{BASE}/refunds", {"payment": payment.pk, "amount_minor": 100_00})
    assert asked.status_code == 201, asked.content
    assert asked.json()["status"] == "awaiting"
    request_id = asked.json()["trust_request"]
    [listed] = books.client_of(books.paula).get(f"{BASE}/trust-refunds").json()["results"]
    assert (listed["request"], listed["approvals_required"], listed["approvals"]) == (request_id, 2, [])
    assert books.client_of(books.lucia).get(f"{BASE}/trust-refunds").status_code == 403

    approvals = f"{BASE}/trust-refunds/approvals"
    assert post(books.client_of(books.bill), approvals, {"request": request_id}).status_code == 403
    assert post(firm_b.client(firm_b.admin), approvals, {"request": request_id}).status_code == 404
    one = post(books.client_of(books.alice), approvals, {"request": request_id}, key="a-1")
    assert one.json()["approvals"] == ["alice@acme.test"]
    assert post(books.client_of(books.alice), approvals, {"request": request_id}, key="a-1").json() == one.json()
    assert not stripe_front.made("POST", "/v1/refunds")
    # The ledger's approvals endpoint decides the same request by the same rules, and hands it to Stripe.
    two = post(books.client_of(books.paula), "/api/v1/ledger/trust/approvals", {"request": request_id})
    assert two.status_code == 200, two.content
    assert two.json()["status"] == "posted"
    assert two.json()["entry"] is None  # the ledger follows Stripe's charge.refunded
    listed_after = books.client_of(books.paula).get(f"{BASE}/trust-refunds").json()["results"]
    assert [(row["status"], row["approvals"]) for row in listed_after] == [
        ("asked", ["alice@acme.test", "paula@acme.test"])
    ]
    (call,) = stripe_front.made("POST", "/v1/refunds")
    refund = TrustCardRefund.objects.get(request_id=request_id)
    assert call.idempotency_key == refund.idempotency_key
    assert call.stripe_account == payment.account.stripe_account_id
    assert refunded_at_stripe(stripe_front, payment, amount_refunded=100_00) == "applied"
    lucia_trust = account_for(Account.Kind.CLIENT_TRUST, client=books.lucia, matter=books.lucia_matter)
    assert balance(lucia_trust) == Money(200_00)
    decided = post(books.client_of(books.paula), approvals, {"request": request_id, "reject": True})
    assert decided.status_code == 400


def test_retainer_requests_are_listed_to_their_client_and_asked_by_billing_staff(
    books: Cast, firm_b: Firm, stripe_front: StripeFront
) -> None:
    bill = books.client_of(books.bill)
    made = post(
        bill,
        f"{BASE}/retainer-requests",
        {"matter_id": books.lucia_matter.pk, "amount_minor": 750_00, "purpose": "I-130"},
        key="r-1",
    )
    assert made.status_code == 201, made.content
    assert (made.json()["client"], made.json()["status"]) == ("lucia@example.test", "open")
    assert (
        post(bill, f"{BASE}/retainer-requests", {"matter_id": books.lucia_matter.pk, "amount_minor": 1.5}).status_code
        == 400
    )
    assert post(bill, f"{BASE}/retainer-requests", {"matter_id": "abc", "amount_minor": 1}).status_code == 404
    assert post(books.client_of(books.lucia), f"{BASE}/retainer-requests", {"matter_id": 1}).status_code == 403
    assert [
        row["purpose"] for row in books.client_of(books.lucia).get(f"{BASE}/retainer-requests").json()["results"]
    ] == ["I-130"]
    assert books.client_of(books.dora).get(f"{BASE}/retainer-requests").json()["results"] == []
    assert firm_b.client(firm_b.admin).get(f"{BASE}/retainer-requests").json()["results"] == []
    assert bill.get(f"{BASE}/retainer-requests?status=open&matter={books.lucia_matter.reference}").json()["results"]


def test_a_token_reaches_payments_with_billing_scopes_and_trust_refunds_with_trust(books: Cast) -> None:
    issued_token = token_issue(user=books.paula, label="Books", scopes=["billing:read"], days=30, by=books.alice)
    api = Client(HTTP_HOST=books.firm.host, HTTP_AUTHORIZATION=f"Bearer {issued_token.text}")
    assert api.get(f"{BASE}/payments").status_code == 200
    assert api.get(f"{BASE}/trust-refunds").status_code == 403
    assert post(api, f"{BASE}/refunds", {"payment": 1, "amount_minor": 1}).status_code == 403
