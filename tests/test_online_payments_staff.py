"""Billing staff and online payments (issue 12 items 7 and 4): a payment's page, and refunds of trust by two approvers.

Real parts: localstripe (PyPI) as a subprocess holds the PaymentIntents and takes the
refunds; PostgreSQL holds the ledger; the pages are requested through Django's test
client. localstripe has no Connect: the recording front of ``tests/support/stripe.py``
stands in for the ``Stripe-Account`` header and records it with the ``Idempotency-Key``
of every call, so the tests assert which account was asked and with which key.
Stripe's events are built around the PaymentIntent as localstripe holds it and
applied by ``billing.stripe.webhooks`` (``tests/support/online_payments.py``).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.ledger.accounts import account_for
from billing.ledger.models import Account
from billing.ledger.selectors import balance
from billing.money import Money
from billing.stripe.models import OnlinePayment, TrustCardRefund
from billing.stripe.trust_refunds import trust_card_refund_request
from billing.trust.models import TrustRequest
from billing.trust.requests import trust_request_approve
from core.audit.models import AuditEntry
from tests.support.billing import issued
from tests.support.cast import Cast
from tests.support.firms import Firm
from tests.support.online_payments import accounts_enabled, invoice_paid, refunded_at_stripe, retainer_paid
from tests.support.stripe import StripeFront

Kind = Account.Kind


def page(client: Any, url: str, **data: str) -> str:
    response = client.post(url, data, follow=True) if data else client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return str(response.content.decode())


def lucia_retainer(books: Cast, front: StripeFront, amount: int = 300_00) -> OnlinePayment:
    accounts = accounts_enabled(books.alice)
    return retainer_paid(front, accounts, matter=books.lucia_matter, amount=Money(amount), by=books.bill)


# --- The payment's page -------------------------------------------------------------------------------------------


def test_a_payments_page_shows_its_stripe_ids_amounts_entries_events_and_audit(
    books: Cast, stripe_front: StripeFront
) -> None:
    accounts = accounts_enabled(books.alice)
    invoice = issued(books.lucia_matter, books.alice, "PET-FLAT")
    payment = invoice_paid(stripe_front, accounts, invoice)
    bill = books.client_of(books.bill)
    page(bill, f"/staff/billing/online-payments/{payment.pk}/refund/", amount="100.00")
    assert refunded_at_stripe(stripe_front, payment, amount_refunded=100_00) == "applied"

    shown = page(bill, f"/staff/billing/online-payments/{payment.pk}/")
    intent = stripe_front.ls("GET", f"/v1/payment_intents/{payment.payment_intent_id}")
    charge = intent.get("latest_charge") or intent["charges"]["data"][0]
    charge = charge["id"] if isinstance(charge, dict) else charge
    for fact in (
        "Lucía Gómez",
        books.lucia_matter.reference,
        invoice.display_number,
        str(accounts["operating"].stripe_account_id),
        str(payment.payment_intent_id),
        charge,
        payment.amount.format(),  # paid
        "$100.00",  # refunded, and asked
        "Operating bank",
        "Revenue",
        "payment_intent.succeeded",
        "charge.refunded",
        "stripe.refund_request",
        "stripe.event_apply",
    ):
        assert fact in shown, fact
    assert shown.count('data-testid="entry-') == 2  # the payment and its refund


def test_only_billing_staff_see_a_payments_page(books: Cast, firm_b: Firm, stripe_front: StripeFront) -> None:
    payment = lucia_retainer(books, stripe_front)
    url = f"/staff/billing/online-payments/{payment.pk}/"
    assert books.client_of(books.lucia).get(url).status_code == 403  # her own payment: the client page is hers
    for outsider in (books.client_of(books.dora), books.client_of(books.pete), firm_b.client(firm_b.admin)):
        assert outsider.get(url).status_code == 404
    assert books.client_of(books.paula).get(url).status_code == 200
    assert books.firm.client().get(url).status_code == 302


def test_the_payments_list_filters_by_state_client_and_account(books: Cast, stripe_front: StripeFront) -> None:
    accounts = accounts_enabled(books.alice)
    retainer = retainer_paid(stripe_front, accounts, matter=books.lucia_matter, amount=Money(50_00), by=books.bill)
    invoice = invoice_paid(stripe_front, accounts, issued(books.dora_matter, books.alice, "PET-FLAT"))
    bill = books.client_of(books.bill)

    def listed(query: str) -> set[int]:
        shown = page(bill, f"/staff/billing/online-payments/?{query}")
        return {p for p in (retainer.pk, invoice.pk) if f'data-testid="online-payment-{p}"' in shown}

    assert listed("") == {retainer.pk, invoice.pk}
    assert listed("account=trust") == {retainer.pk}
    assert listed(f"client={books.dora.pk}") == {invoice.pk}
    assert listed(f"client={books.dora.pk}&account=trust") == set()
    assert listed("status=refunded") == set()
    assert listed("status=succeeded") == {retainer.pk, invoice.pk}
    assert bill.get("/staff/billing/online-payments/?client=abc").status_code == 404


# --- Refunds from trust: two approvers, then Stripe -------------------------------------------------------------


def test_a_trust_refund_waits_for_two_approvers_then_asks_stripe_on_the_trust_account(
    books: Cast, stripe_front: StripeFront
) -> None:
    payment = lucia_retainer(books, stripe_front)
    url = f"/staff/billing/online-payments/{payment.pk}/"
    bill, alice, paula = (books.client_of(who) for who in (books.bill, books.alice, books.paula))
    asked = page(bill, f"{url}refund/", amount="120.00", reason="Case closed early")
    assert "it waits for two approvers" in asked
    refund = TrustCardRefund.objects.get(payment=payment)
    assert refund.request.approvals_required == 2
    assert refund.idempotency_key  # saved with the request, long before any call
    decide = f"{url}trust-refunds/decide/"

    assert books.client_of(books.bill).post(decide, {"request_id": refund.request_id}).status_code == 403
    assert "needs another approver" in page(alice, decide, request_id=str(refund.request_id), decision="approve")
    assert "already approved" in page(alice, decide, request_id=str(refund.request_id), decision="approve")
    assert not stripe_front.made("POST", "/v1/refunds")  # one approval: Stripe is not asked

    done = page(paula, decide, request_id=str(refund.request_id), decision="approve")
    assert "Stripe was asked for the refund" in done
    (call,) = stripe_front.made("POST", "/v1/refunds")
    assert call.stripe_account == payment.account.stripe_account_id
    assert call.idempotency_key == refund.idempotency_key
    assert call.form["amount"] == ["12000"]
    refund.refresh_from_db()
    assert refund.status == "asked"
    assert refund.stripe_refund_id
    assert TrustRequest.objects.get(pk=refund.request_id).status == TrustRequest.Status.POSTED

    lucia_trust = account_for(Kind.CLIENT_TRUST, client=books.lucia, matter=books.lucia_matter)
    assert balance(lucia_trust) == Money(300_00)  # the ledger waits for Stripe's event
    assert refunded_at_stripe(stripe_front, payment, amount_refunded=120_00) == "applied"
    assert balance(lucia_trust) == Money(180_00)
    shown = page(alice, url)
    assert "Asked of Stripe" in shown
    assert "alice@acme.test paula@acme.test" in shown
    assert "stripe.trust_refund_sent" in shown
    assert "trust.refund_approve" in shown
    assert "Client trust liability" in shown


def test_the_requester_never_approves_his_own_trust_refund(books: Cast, stripe_front: StripeFront) -> None:
    payment = lucia_retainer(books, stripe_front)
    refund = trust_card_refund_request(payment=payment, amount=Money(10_00), reason="", by=books.alice)
    decided = page(
        books.client_of(books.alice),
        f"/staff/billing/online-payments/{payment.pk}/trust-refunds/decide/",
        request_id=str(refund.request_id),
        decision="approve",
    )
    assert "cannot approve it" in decided
    assert not refund.request.approvals.exists()
    # The trust requests page and its service reach the same rule, and the same hand-over to Stripe.
    trust_request_approve(request=refund.request, by=books.paula)
    with pytest.raises(Exception, match="cannot approve it"):
        trust_request_approve(request=refund.request, by=books.alice)
    assert not stripe_front.made("POST", "/v1/refunds")


def test_portico_refuses_a_trust_refund_beyond_the_payment_counting_those_not_yet_confirmed(
    books: Cast, stripe_front: StripeFront
) -> None:
    payment = lucia_retainer(books, stripe_front)
    bill = books.client_of(books.bill)
    refund_url = f"/staff/billing/online-payments/{payment.pk}/refund/"
    assert "two approvers" in page(bill, refund_url, amount="200.00")
    assert "At most $100.00 of this payment can be refunded" in page(bill, refund_url, amount="150.00")
    assert "Amount:" in page(bill, refund_url, amount="1e3")
    first = TrustCardRefund.objects.get(payment=payment)
    trust_request_approve(request=first.request, by=books.alice)
    trust_request_approve(request=first.request, by=books.paula)  # asked of Stripe, not yet confirmed
    payment.refresh_from_db()
    assert payment.refund_asked_minor == 200_00
    assert "At most $100.00" in page(bill, refund_url, amount="100.01")
    assert "two approvers" in page(bill, refund_url, amount="100.00")
    assert TrustCardRefund.objects.filter(payment=payment).count() == 2
    assert "At most $0.00" in page(bill, refund_url, amount="0.01")
    # An invoice payment's refund page never reaches trust money, and a trust refund is never sent through it.
    assert len(stripe_front.made("POST", "/v1/refunds")) == 1


def test_a_rejected_trust_refund_is_never_sent_and_frees_the_amount(books: Cast, stripe_front: StripeFront) -> None:
    payment = lucia_retainer(books, stripe_front)
    refund = trust_card_refund_request(payment=payment, amount=Money(300_00), reason="", by=books.bill)
    decide = f"/staff/billing/online-payments/{payment.pk}/trust-refunds/decide/"
    done = page(books.client_of(books.paula), decide, request_id=str(refund.request_id), decision="reject")
    assert "Refund rejected." in done
    refund.refresh_from_db()
    assert refund.status == "rejected"
    assert refund.request.status == TrustRequest.Status.REJECTED
    again = page(books.client_of(books.alice), decide, request_id=str(refund.request_id), decision="approve")
    assert "already been decided" in again
    assert not stripe_front.made("POST", "/v1/refunds")
    assert trust_card_refund_request(payment=payment, amount=Money(300_00), reason="", by=books.bill)
    assert AuditEntry.objects.filter(action="trust.refund_reject").count() == 1


def test_a_trust_refund_stripe_refused_is_sent_again_with_the_same_key(
    books: Cast, stripe_front: StripeFront, settings: Any
) -> None:
    payment = lucia_retainer(books, stripe_front)
    refund = trust_card_refund_request(payment=payment, amount=Money(50_00), reason="", by=books.bill)
    trust_request_approve(request=refund.request, by=books.alice)
    settings.PORTICO_STRIPE_API_BASE = "http://127.0.0.1:9"  # Stripe unreachable for the second approval
    decide = f"/staff/billing/online-payments/{payment.pk}/trust-refunds/decide/"
    failed = page(books.client_of(books.paula), decide, request_id=str(refund.request_id), decision="approve")
    assert "Both approvals stand" in failed
    refund.refresh_from_db()
    assert refund.status == "sending"
    assert refund.last_error
    payment.refresh_from_db()
    assert payment.refund_asked_minor == 50_00  # still reserved: Stripe may yet have it
    assert "Send to Stripe again" in page(books.client_of(books.alice), f"/staff/billing/online-payments/{payment.pk}/")
    cancel = page(books.client_of(books.alice), decide, request_id=str(refund.request_id), decision="reject")
    assert "can no longer be rejected" in cancel

    settings.PORTICO_STRIPE_API_BASE = stripe_front.url
    resent = page(books.client_of(books.alice), decide, request_id=str(refund.request_id), decision="approve")
    assert "Stripe was asked" in resent
    (call,) = stripe_front.made("POST", "/v1/refunds")
    assert call.idempotency_key == refund.idempotency_key
    assert refund.request.approvals.count() == 2
    assert refunded_at_stripe(stripe_front, payment, amount_refunded=50_00) == "applied"
    assert payment.refunded_minor == 50_00


def test_the_payments_list_costs_the_same_queries_for_one_payment_or_many(books: Cast) -> None:
    accounts = accounts_enabled(books.alice)
    bill = books.client_of(books.bill)

    def add(n: int) -> None:
        for i in range(n):
            invoice = issued(books.dora_matter if i % 2 else books.lucia_matter, books.alice, "PET-FLAT")
            OnlinePayment.objects.create(
                purpose="invoice",
                account=accounts["operating"],
                account_kind="operating",
                invoice=invoice,
                client=invoice.client,
                matter=invoice.matter,
                amount_minor=invoice.total_minor,
                currency=invoice.currency,
                idempotency_key=f"count-{invoice.pk}",
                payment_intent_id=f"pi_count_{invoice.pk}",
                status="succeeded",
            )

    add(1)
    bill.get("/staff/billing/online-payments/")  # warm the session and caches
    with CaptureQueriesContext(connection) as few:
        page(bill, "/staff/billing/online-payments/")
    add(4)
    with CaptureQueriesContext(connection) as many:
        shown = page(bill, "/staff/billing/online-payments/")
    assert shown.count('data-testid="online-payment-') == 5
    assert len(many) == len(few)


def test_a_crash_after_stripe_took_a_trust_refund_resends_the_same_key(
    books: Cast, stripe_front: StripeFront, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stripe answers a repeated key with the first refund; localstripe ignores keys, so the test asserts the keys."""
    from billing.stripe import trust_refunds

    payment = lucia_retainer(books, stripe_front)
    refund = trust_card_refund_request(payment=payment, amount=Money(30_00), reason="", by=books.bill)
    trust_request_approve(request=refund.request, by=books.alice)

    class Died(Exception):
        pass

    def die(*args: Any, **kwargs: Any) -> None:
        raise Died("the process died after Stripe answered, before Portico saved the answer")

    monkeypatch.setattr(trust_refunds, "_sent", die)
    with pytest.raises(Died):
        trust_request_approve(request=refund.request, by=books.paula)
    monkeypatch.undo()
    refund.refresh_from_db()
    assert refund.status == "sending"
    trust_request_approve(request=refund.request, by=books.paula)
    first, second = stripe_front.made("POST", "/v1/refunds")
    assert first.idempotency_key == second.idempotency_key == refund.idempotency_key
    refund.refresh_from_db()
    assert refund.status == "asked"
    assert refund.request.approvals.count() == 2
