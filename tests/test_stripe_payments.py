"""Online payments through Stripe Connect (issue 12 items 1-5): two accounts per firm, the right one per charge.

Real parts: localstripe (PyPI) as a subprocess creates, confirms and refunds the
PaymentIntents; PostgreSQL holds the ledger; events are posted over the real
webhook view with real signatures. localstripe has no Connect, so account
creation, account links and the ``Stripe-Account`` header go through the small
recording front in ``tests/support/stripe.py`` (a stand-in for Stripe's Connect
endpoints; every other request is forwarded to localstripe). The card form is
Stripe's hosted Checkout page; localstripe has no Checkout Sessions, so the
front stands in for them too, and "the client pays on Stripe's page" is the
front making a real PaymentIntent on localstripe with the session's amount and
metadata and paying it; the test then signs the ``payment_intent.succeeded``
event that Stripe would send, around the PaymentIntent as localstripe holds it.
The Checkout paths themselves are in tests/test_stripe_checkout.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from celery.signals import task_success
from django.core.exceptions import ValidationError
from django.test import Client

from billing.invoices.models import Invoice, Payment
from billing.ledger.accounts import account_for
from billing.ledger.models import Account, JournalLine
from billing.ledger.selectors import balance
from billing.ledger.services import Line, journal_post
from billing.money import Money
from billing.stripe.models import ConnectedAccount, OnlinePayment, RetainerRequest, StripeEvent
from billing.stripe.services import (
    connected_account_create,
    connected_account_link,
    connected_account_refresh,
    payment_refund,
    retainer_request_create,
)
from billing.stripe.tasks import stripe_event_process
from billing.trust.models import BillingTask
from billing.trust.services import trust_deposit
from core.audit.models import AuditEntry
from tenants.models import StripeAccountRoute
from tests.support.billing import issued
from tests.support.cast import Cast
from tests.support.firms import Firm
from tests.support.stripe import StripeFront, charge_refunded, dispute, event, sign

Kind = Account.Kind


def connect_both(cast: Cast) -> dict[str, ConnectedAccount]:
    """Firm A's trust and operating accounts, created and onboarded (enabled)."""
    accounts = {}
    with cast.firm.tenant:
        for kind in ("trust", "operating"):
            account = connected_account_create(kind=kind, by=cast.alice)
            connected_account_link(account=account, by=cast.alice, refresh_url="http://x/", return_url="http://x/")
            accounts[kind] = connected_account_refresh(account=account)
            assert accounts[kind].status == ConnectedAccount.Status.ENABLED
    return accounts


def post_event(body: dict[str, Any], *, signature: str | None = None, raw: bytes | None = None) -> Any:
    """Post the event to the endpoint; ``.outcome`` is what its task answered (run eagerly, see ``stripe_front``)."""
    payload = raw if raw is not None else json.dumps(body).encode()
    outcomes: list[str] = []

    def record(sender: Any = None, result: Any = None, **kwargs: Any) -> None:
        outcomes.append(result)

    task_success.connect(record, sender=stripe_event_process, weak=False)
    try:
        response = Client(HTTP_HOST="localhost").post(
            "/stripe/webhook/",
            data=payload,
            content_type="application/json",
            headers={"Stripe-Signature": signature if signature is not None else sign(payload)},
        )
    finally:
        task_success.disconnect(record, sender=stripe_event_process)
    response.outcome = outcomes[-1] if outcomes else None  # type: ignore[attr-defined]
    return response


def lucia_invoice(cast: Cast) -> Invoice:
    with cast.firm.tenant:
        return issued(cast.lucia_matter, cast.alice, "PET-FLAT")


def start_invoice_payment(cast: Cast, invoice: Invoice) -> OnlinePayment:
    """Lucía presses "Pay" on the invoice's payment link: Portico sends her to Stripe's hosted page."""
    response = cast.client_of(cast.lucia).post(f"/portal/billing/invoices/{invoice.pk}/pay/")
    assert response.status_code == 303, response.content[:500]
    with cast.firm.tenant:
        payment = OnlinePayment.objects.get(invoice=invoice)
    assert response["Location"] == payment.checkout_url
    return payment


def paid_on_stripe(front: StripeFront, payment: OnlinePayment) -> dict[str, Any]:
    """The client pays on Stripe's Checkout page: the real PaymentIntent (on localstripe) it made, paid."""
    _session, intent = front.checkout_complete(str(payment.checkout_session_id))
    return intent


# --- 2. Two connected accounts per firm -------------------------------------------------------------------


def test_firm_admin_connects_a_trust_and_an_operating_account(cast: Cast, stripe_front: StripeFront) -> None:
    alice = cast.client_of(cast.alice)
    page = alice.get("/staff/settings/")
    assert b"Create the trust account" in page.content
    assert b"Create the operating account" in page.content
    for kind in ("trust", "operating"):
        response = alice.post("/staff/settings/payments/connect/", {"kind": kind})
        assert response.status_code == 302
    created = stripe_front.made("POST", "/v1/accounts")
    assert len(created) == 2
    trust_call, operating_call = created
    # Fees on trust charges are billed to the platform, never taken from the trust account.
    assert trust_call.form["controller[fees][payer]"] == ["application"]
    assert operating_call.form["controller[fees][payer]"] == ["account"]
    with cast.firm.tenant:
        accounts = {a.kind: a for a in ConnectedAccount.objects.all()}
        assert {a.status for a in accounts.values()} == {"pending"}
        assert trust_call.idempotency_key == accounts["trust"].idempotency_key
        assert AuditEntry.objects.filter(action="stripe.account_create").count() == 2
    routes = StripeAccountRoute.objects.filter(account_id__in=[a.stripe_account_id for a in accounts.values()])
    assert {route.tenant_id for route in routes} == {cast.firm.tenant.pk}
    assert routes.count() == 2
    assert b"Pending (onboarding not finished)" in alice.get("/staff/settings/").content

    onboard = alice.get(f"/staff/settings/payments/{accounts['trust'].pk}/onboard/")
    assert onboard.status_code == 302
    assert onboard["Location"].startswith("https://connect.stripe.test/setup/")
    back = alice.get(f"/staff/settings/payments/{accounts['trust'].pk}/return/", follow=True)
    assert b"The trust account is enabled." in back.content
    with cast.firm.tenant:
        assert AuditEntry.objects.filter(action="stripe.account_link").count() == 1
        assert ConnectedAccount.objects.get(kind="trust").status == "enabled"
    again = alice.post("/staff/settings/payments/connect/", {"kind": "trust"}, follow=True)
    assert b"already connected" in again.content
    assert len(stripe_front.made("POST", "/v1/accounts")) == 2


def test_only_a_firm_admin_reaches_the_accounts(cast: Cast, firm_b: Firm, stripe_front: StripeFront) -> None:
    accounts = connect_both(cast)
    trust = accounts["trust"].pk
    assert cast.client_of(cast.bill).post("/staff/settings/payments/connect/", {"kind": "trust"}).status_code == 403
    assert cast.client_of(cast.lucia).post("/staff/settings/payments/connect/", {"kind": "trust"}).status_code == 403
    for who in (cast.bill, cast.lucia, cast.dan):
        assert cast.client_of(who).get(f"/staff/settings/payments/{trust}/onboard/").status_code == 404
        assert cast.client_of(who).get(f"/staff/settings/payments/{trust}/return/").status_code == 404
    assert firm_b.client(firm_b.admin).get(f"/staff/settings/payments/{trust}/onboard/").status_code == 404
    anonymous = cast.firm.client().get(f"/staff/settings/payments/{trust}/onboard/")
    assert anonymous.status_code == 302
    assert "/accounts/login/" in anonymous["Location"]
    assert len(stripe_front.made("POST", "/v1/account_links")) == 2  # connect_both's own, no one else's


# --- 3. Paying: each path on its own account ---------------------------------------------------------------


def test_an_invoice_is_charged_on_the_operating_account_and_posted_once(cast: Cast, stripe_front: StripeFront) -> None:
    accounts = connect_both(cast)
    invoice = lucia_invoice(cast)
    lucia = cast.client_of(cast.lucia)
    billing = lucia.get("/portal/billing/").content.decode()
    assert "Pagar" in billing
    assert f"/portal/billing/invoices/{invoice.pk}/pay/" in billing

    payment = start_invoice_payment(cast, invoice)
    assert payment.account_kind == "operating"
    assert payment.amount_minor == invoice.balance_due_minor
    (call,) = stripe_front.made("POST", "/v1/checkout/sessions")
    assert call.stripe_account == accounts["operating"].stripe_account_id
    assert call.idempotency_key == payment.idempotency_key
    assert call.form["line_items[0][price_data][unit_amount]"] == [str(invoice.balance_due_minor)]
    assert "payment_intent_data[application_fee_amount]" not in call.form
    assert not stripe_front.made("POST", "/v1/payment_intents")  # Stripe makes it when Lucía pays

    intent = paid_on_stripe(stripe_front, payment)
    assert intent["status"] == "succeeded"
    succeeded = event("payment_intent.succeeded", intent, account=str(accounts["operating"].stripe_account_id))
    response = post_event(succeeded)
    assert (response.status_code, response.json()["outcome"]) == (202, "queued")
    assert response.outcome == "applied"
    assert post_event(succeeded).outcome == "duplicate"  # Stripe retried: nothing twice

    with cast.firm.tenant:
        invoice.refresh_from_db()
        assert invoice.status == Invoice.Status.PAID
        (posted,) = Payment.objects.filter(invoice=invoice)
        assert posted.method == "online"
        assert posted.amount_minor == payment.amount_minor
        assert balance(account_for(Kind.OPERATING_BANK, currency=invoice.currency)).minor == payment.amount_minor
        assert balance(account_for(Kind.TRUST_BANK, currency=invoice.currency)).minor == 0
        assert StripeEvent.objects.filter(event_id=succeeded["id"]).count() == 1
        assert AuditEntry.objects.filter(action="stripe.event_apply").count() == 1
    status = lucia.get(f"/portal/billing/payments/{payment.pk}/").content.decode()
    assert "Recibimos su pago" in status


def test_a_retainer_is_charged_on_the_trust_account_for_the_full_amount(cast: Cast, stripe_front: StripeFront) -> None:
    accounts = connect_both(cast)
    with cast.firm.tenant:
        retainer = retainer_request_create(
            matter=cast.lucia_matter, amount=Money(1500_00), purpose="Anticipo", by=cast.bill
        )
    lucia = cast.client_of(cast.lucia)
    assert "Anticipos solicitados" in lucia.get("/portal/billing/").content.decode()
    assert lucia.post(f"/portal/billing/retainers/{retainer.pk}/pay/").status_code == 303
    with cast.firm.tenant:
        payment = OnlinePayment.objects.get(retainer=retainer)
    (call,) = stripe_front.made("POST", "/v1/checkout/sessions")
    assert call.stripe_account == accounts["trust"].stripe_account_id
    assert call.form["line_items[0][price_data][unit_amount]"] == ["150000"]
    assert "payment_intent_data[application_fee_amount]" not in call.form

    intent = paid_on_stripe(stripe_front, payment)
    assert (
        post_event(event("payment_intent.succeeded", intent, account=str(accounts["trust"].stripe_account_id))).outcome
        == "applied"
    )
    with cast.firm.tenant:
        currency = retainer.currency
        client_trust = account_for(Kind.CLIENT_TRUST, client=cast.lucia, matter=cast.lucia_matter)
        assert balance(client_trust) == Money(1500_00, currency)
        assert balance(account_for(Kind.TRUST_BANK, currency=currency)) == Money(1500_00, currency)
        assert balance(account_for(Kind.OPERATING_BANK, currency=currency)).minor == 0
        fees = account_for(Kind.PROCESSOR_FEES, currency=currency)
        assert not JournalLine.objects.filter(account=fees).exists()
        retainer.refresh_from_db()
        assert retainer.status == RetainerRequest.Status.PAID
    assert "Recibimos su pago" in lucia.get(f"/portal/billing/payments/{payment.pk}/").content.decode()


def test_an_event_from_the_other_account_posts_nothing(cast: Cast, stripe_front: StripeFront) -> None:
    accounts = connect_both(cast)
    invoice = lucia_invoice(cast)
    payment = start_invoice_payment(cast, invoice)
    intent = paid_on_stripe(stripe_front, payment)
    wrong = event("payment_intent.succeeded", intent, account=str(accounts["trust"].stripe_account_id))
    assert post_event(wrong).outcome == "refused"
    with cast.firm.tenant:
        assert not Payment.objects.filter(invoice=invoice).exists()
        assert balance(account_for(Kind.TRUST_BANK, currency=invoice.currency)).minor == 0
        refused = AuditEntry.objects.get(action="stripe.event_refused")
        assert "the payment was started on" in json.dumps(refused.data)


def test_online_payment_is_not_offered_before_the_account_is_enabled(cast: Cast, stripe_front: StripeFront) -> None:
    invoice = lucia_invoice(cast)
    lucia = cast.client_of(cast.lucia)
    assert f"/portal/billing/invoices/{invoice.pk}/pay/" not in lucia.get("/portal/billing/").content.decode()
    assert (
        "El pago en línea aún no está disponible"
        in lucia.get(f"/portal/billing/invoices/{invoice.pk}/pay/").content.decode()
    )
    refused = lucia.post(f"/portal/billing/invoices/{invoice.pk}/pay/")
    assert refused.status_code == 400
    assert "El pago en línea aún no está disponible" in refused.content.decode()
    assert not stripe_front.made("POST", "/v1/checkout/sessions")


def test_no_one_else_pays_or_sees_a_clients_payment(cast: Cast, firm_b: Firm, stripe_front: StripeFront) -> None:
    connect_both(cast)
    invoice = lucia_invoice(cast)
    payment = start_invoice_payment(cast, invoice)
    with cast.firm.tenant:
        retainer = retainer_request_create(matter=cast.lucia_matter, amount=Money(100_00), purpose="x", by=cast.bill)
    for client in (cast.client_of(cast.dora), cast.client_of(cast.bill), firm_b.client(firm_b.admin)):
        assert client.post(f"/portal/billing/invoices/{invoice.pk}/pay/").status_code == 404
        assert client.post(f"/portal/billing/retainers/{retainer.pk}/pay/").status_code == 404
    for client in (cast.client_of(cast.dora), firm_b.client(firm_b.admin)):
        assert client.get(f"/portal/billing/payments/{payment.pk}/").status_code == 404
    assert len(stripe_front.made("POST", "/v1/checkout/sessions")) == 1


def test_a_crash_after_creating_the_account_creates_nothing_twice(
    cast: Cast, stripe_front: StripeFront, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The idempotency key is saved before the call: the retry sends the same key, Stripe answers the same account."""
    real = StripeAccountRoute.objects.get_or_create
    calls = {"n": 0}

    def crash_once(**kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("the process died after Stripe answered")
        return real(**kwargs)

    monkeypatch.setattr(StripeAccountRoute.objects, "get_or_create", crash_once)
    with cast.firm.tenant:
        with pytest.raises(ConnectionError):
            connected_account_create(kind="trust", by=cast.alice)
        account = connected_account_create(kind="trust", by=cast.alice)
    first, second = stripe_front.made("POST", "/v1/accounts")
    assert first.idempotency_key == second.idempotency_key == account.idempotency_key
    assert len(stripe_front.accounts) == 1
    assert account.stripe_account_id in stripe_front.accounts


# --- 4. Webhooks: signatures, routing, refunds ---------------------------------------------------------------


def test_a_bad_changed_stale_or_unroutable_webhook_is_refused(cast: Cast, stripe_front: StripeFront) -> None:
    accounts = connect_both(cast)
    invoice = lucia_invoice(cast)
    payment = start_invoice_payment(cast, invoice)
    intent = paid_on_stripe(stripe_front, payment)
    body = event("payment_intent.succeeded", intent, account=str(accounts["operating"].stripe_account_id))
    payload = json.dumps(body).encode()
    changed = payload.replace(str(intent["amount"]).encode(), b"1", 1)
    assert post_event(body, raw=changed, signature=sign(payload)).status_code == 400
    assert post_event(body, signature=sign(payload, secret="whsec_someone_else")).status_code == 400
    assert post_event(body, signature=sign(payload, timestamp=1_000_000_000)).status_code == 400
    assert post_event(body, signature="").status_code == 400
    # Signed by Stripe but for an account no firm holds: 2xx (no retry could ever route it), ignored, logged.
    elsewhere = post_event(event("payment_intent.succeeded", intent, account="acct_nobodys"))
    assert (elsewhere.status_code, elsewhere.json()["outcome"], elsewhere.outcome) == (200, "ignored", None)
    # The endpoint is the platform's, on the base domain: a firm's subdomain does not serve it.
    on_firm = cast.firm.client().post(
        "/stripe/webhook/", data=payload, content_type="application/json", headers={"Stripe-Signature": sign(payload)}
    )
    assert on_firm.status_code == 404
    with cast.firm.tenant:
        assert not StripeEvent.objects.exists()
        assert not Payment.objects.filter(invoice=invoice).exists()
    assert post_event(body).outcome == "applied"


def test_a_refund_is_refused_beyond_the_payment_and_posted_once(cast: Cast, stripe_front: StripeFront) -> None:
    accounts = connect_both(cast)
    invoice = lucia_invoice(cast)
    payment = start_invoice_payment(cast, invoice)
    intent = paid_on_stripe(stripe_front, payment)
    operating = str(accounts["operating"].stripe_account_id)
    post_event(event("payment_intent.succeeded", intent, account=operating))
    with cast.firm.tenant:
        payment.refresh_from_db()
        currency = payment.currency
        payment_refund(payment=payment, amount=Money(100_00, currency), by=cast.bill)
        with pytest.raises(ValidationError, match="can be refunded"):
            payment_refund(payment=payment, amount=Money(payment.amount_minor, currency), by=cast.bill)
        bank_before = balance(account_for(Kind.OPERATING_BANK, currency=currency))
    (call,) = stripe_front.made("POST", "/v1/refunds")  # the over-refund never reached Stripe
    assert call.stripe_account == operating
    assert call.idempotency_key
    refunded = event("charge.refunded", charge_refunded(intent, amount_refunded=100_00), account=operating)
    assert post_event(refunded).outcome == "applied"
    assert post_event(refunded).outcome == "duplicate"
    # The same cumulative amount in a new event (Stripe re-sent it) posts nothing new either.
    again = event("charge.refunded", charge_refunded(intent, amount_refunded=100_00), account=operating)
    assert post_event(again).outcome == "duplicate"
    with cast.firm.tenant:
        payment.refresh_from_db()
        assert payment.refunded_minor == 100_00
        assert payment.status == "succeeded"
        assert balance(account_for(Kind.OPERATING_BANK, currency=currency)) == bank_before - Money(100_00, currency)
        assert AuditEntry.objects.filter(action="stripe.refund_request").count() == 1
    assert "Parte de este pago fue reembolsada" in (
        cast.client_of(cast.lucia).get(f"/portal/billing/payments/{payment.pk}/").content.decode()
    )


def test_a_retainer_refund_comes_out_of_that_clients_trust_only(cast: Cast, stripe_front: StripeFront) -> None:
    accounts = connect_both(cast)
    trust = str(accounts["trust"].stripe_account_id)
    with cast.firm.tenant:
        retainer = retainer_request_create(matter=cast.lucia_matter, amount=Money(300_00), purpose="x", by=cast.bill)
    cast.client_of(cast.lucia).post(f"/portal/billing/retainers/{retainer.pk}/pay/")
    with cast.firm.tenant:
        payment = OnlinePayment.objects.get(retainer=retainer)
        with pytest.raises(ValidationError, match="two approvers"):
            payment_refund(payment=payment, amount=Money(1_00, payment.currency), by=cast.bill)
    intent = paid_on_stripe(stripe_front, payment)
    post_event(event("payment_intent.succeeded", intent, account=trust))
    # Refunded at Stripe (its dashboard): only Lucía's trust ledger goes down, never below zero.
    post_event(event("charge.refunded", charge_refunded(intent, amount_refunded=300_00), account=trust))
    with cast.firm.tenant:
        lucia_trust = account_for(Kind.CLIENT_TRUST, client=cast.lucia, matter=cast.lucia_matter)
        assert balance(lucia_trust).minor == 0
        assert balance(account_for(Kind.TRUST_BANK, currency=payment.currency)).minor == 0
        payment.refresh_from_db()
        assert payment.status == "refunded"
    assert (
        "fue reembolsado" in cast.client_of(cast.lucia).get(f"/portal/billing/payments/{payment.pk}/").content.decode()
    )


# --- 5. Staff: refunds and retainer requests from the payments page -----------------------------------------


def test_billing_staff_refund_from_the_payments_page(cast: Cast, firm_b: Firm, stripe_front: StripeFront) -> None:
    accounts = connect_both(cast)
    invoice = lucia_invoice(cast)
    payment = start_invoice_payment(cast, invoice)
    intent = paid_on_stripe(stripe_front, payment)
    post_event(event("payment_intent.succeeded", intent, account=str(accounts["operating"].stripe_account_id)))
    with cast.firm.tenant:
        payment.refresh_from_db()  # the PaymentIntent's id, learnt from the event
    bill = cast.client_of(cast.bill)
    listing = bill.get("/staff/billing/online-payments/?status=succeeded&account=operating").content.decode()
    assert f'data-testid="online-payment-{payment.pk}"' in listing
    assert str(payment.payment_intent_id) in listing
    assert "No online payments." in bill.get("/staff/billing/online-payments/?account=trust").content.decode()

    url = f"/staff/billing/online-payments/{payment.pk}/refund/"
    for outsider in (cast.client_of(cast.dora), cast.client_of(cast.lucia), firm_b.client(firm_b.admin)):
        assert outsider.post(url, {"amount": "1.00"}).status_code in (403, 404)
    assert "Amount:" in bill.post(url, {"amount": "1e3"}, follow=True).content.decode()
    done = bill.post(url, {"amount": "25.00"}, follow=True).content.decode()
    assert "asked of Stripe" in done
    too_much = bill.post(url, {"amount": str(payment.amount_minor / 100)}, follow=True).content.decode()
    assert "can be refunded" in too_much
    (call,) = stripe_front.made("POST", "/v1/refunds")
    assert call.stripe_account == accounts["operating"].stripe_account_id
    assert call.form["amount"] == ["2500"]


def test_billing_staff_request_a_retainer_the_client_then_sees(cast: Cast, stripe_front: StripeFront) -> None:
    connect_both(cast)
    bill = cast.client_of(cast.bill)
    made = bill.post(
        "/staff/billing/retainer-requests/",
        {"matter_id": cast.lucia_matter.pk, "amount": "750.00", "purpose": "Anticipo para la petición I-130"},
        follow=True,
    ).content.decode()
    assert "Retainer of" in made
    assert (
        "Say what"
        in bill.post(
            "/staff/billing/retainer-requests/", {"matter_id": cast.lucia_matter.pk, "amount": "1.00"}, follow=True
        ).content.decode()
    )
    assert cast.client_of(cast.dora).post(
        "/staff/billing/retainer-requests/", {"matter_id": cast.lucia_matter.pk, "amount": "1", "purpose": "x"}
    ).status_code in (403, 404)
    page = cast.client_of(cast.lucia).get("/portal/billing/").content.decode()
    assert "Anticipo para la petición I-130" in page
    assert "Anticipos solicitados" in page
    with cast.firm.tenant:
        assert AuditEntry.objects.filter(action="trust.retainer_request").count() == 1


# --- 5. Disputes and events out of order ----------------------------------------------------------------------


def pay_retainer(cast: Cast, front: StripeFront, trust: str, amount: Money) -> tuple[OnlinePayment, dict[str, Any]]:
    with cast.firm.tenant:
        retainer = retainer_request_create(matter=cast.lucia_matter, amount=amount, purpose="x", by=cast.bill)
    cast.client_of(cast.lucia).post(f"/portal/billing/retainers/{retainer.pk}/pay/")
    with cast.firm.tenant:
        payment = OnlinePayment.objects.get(retainer=retainer)
    intent = paid_on_stripe(front, payment)
    assert post_event(event("payment_intent.succeeded", intent, account=trust)).outcome == "applied"
    with cast.firm.tenant:
        payment.refresh_from_db()  # its PaymentIntent, learnt from the event
    return payment, intent


def test_a_dispute_on_trust_never_touches_another_clients_money(cast: Cast, stripe_front: StripeFront) -> None:
    accounts = connect_both(cast)
    trust = str(accounts["trust"].stripe_account_id)
    with cast.firm.tenant:  # Dora's own money in trust, which Lucía's chargeback must not reach
        trust_deposit(client=cast.dora, matter=cast.dora_matter, amount=Money(2000_00), method="cash", by=cast.bill)
    payment, intent = pay_retainer(cast, stripe_front, trust, Money(500_00))
    with cast.firm.tenant:  # Lucía's 500 is partly spent (a disbursement of 200 cleared by hand, as staff would)
        lucia_trust = account_for(Kind.CLIENT_TRUST, client=cast.lucia, matter=cast.lucia_matter)
        journal_post(
            kind="trust.disbursement",
            lines=[Line.debit(lucia_trust, Money(200_00)), Line.credit(account_for(Kind.TRUST_BANK), Money(200_00))],
            memo="filing fee",
            by=cast.bill,
        )
    chargeback = event("charge.dispute.created", dispute(intent), account=trust)
    assert post_event(chargeback).outcome == "applied"
    assert post_event(chargeback).outcome == "duplicate"
    with cast.firm.tenant:
        dora_trust = account_for(Kind.CLIENT_TRUST, client=cast.dora, matter=cast.dora_matter)
        assert balance(dora_trust) == Money(2000_00)
        assert balance(lucia_trust) == Money(0)  # never negative
        assert balance(account_for(Kind.PROCESSOR_FEES)) == Money(200_00)  # the firm's loss, on operating's side
        (task,) = BillingTask.objects.filter(kind=BillingTask.Kind.TRUST_REPLENISH)
        assert task.client_id == cast.lucia.pk
        assert "from operating into trust" in task.message
        payment.refresh_from_db()
        assert payment.status == "disputed"
        assert payment.disputed_minor == 500_00


def test_a_refund_before_the_payment_ends_as_stripe_holds_it(cast: Cast, stripe_front: StripeFront) -> None:
    """The refund comes first: the task re-reads the PaymentIntent on the operating account, posts its success, then
    the refund; the late success event is a duplicate."""
    accounts = connect_both(cast)
    operating = str(accounts["operating"].stripe_account_id)
    invoice = lucia_invoice(cast)
    payment = start_invoice_payment(cast, invoice)
    intent = paid_on_stripe(stripe_front, payment)
    early = event("charge.refunded", charge_refunded(intent, amount_refunded=50_00), account=operating)
    response = post_event(early)
    assert (response.status_code, response.json()["outcome"], response.outcome) == (202, "queued", "applied")
    (read,) = stripe_front.made("GET", f"/v1/payment_intents/{intent['id']}")
    assert read.stripe_account == operating
    assert post_event(event("payment_intent.succeeded", intent, account=operating)).outcome == "duplicate"
    assert post_event(early).outcome == "duplicate"
    with cast.firm.tenant:
        payment.refresh_from_db()
        assert (payment.status, payment.refunded_minor) == ("succeeded", 50_00)
        invoice.refresh_from_db()
        assert invoice.status == Invoice.Status.PAID
        assert Payment.objects.filter(invoice=invoice).count() == 1
        bank = balance(account_for(Kind.OPERATING_BANK, currency=invoice.currency))
        assert bank == Money(payment.amount_minor - 50_00, invoice.currency)


def test_while_stripe_cannot_be_read_an_early_refund_records_nothing(cast: Cast, stripe_front: StripeFront) -> None:
    """The task cannot re-read the PaymentIntent (the front answers 503): nothing is recorded, so its retry (with
    back-off, on a worker: tests/test_stripe_worker.py) applies it later."""
    accounts = connect_both(cast)
    operating = str(accounts["operating"].stripe_account_id)
    invoice = lucia_invoice(cast)
    payment = start_invoice_payment(cast, invoice)
    intent = paid_on_stripe(stripe_front, payment)
    stripe_front.down = True
    early = event("charge.refunded", charge_refunded(intent, amount_refunded=50_00), account=operating)
    response = post_event(early)
    assert (response.status_code, response.outcome) == (202, None)  # queued; the task raised, nothing applied
    with cast.firm.tenant:
        assert not StripeEvent.objects.exists()
        payment.refresh_from_db()
        assert (payment.status, payment.refunded_minor) == ("started", 0)
        assert not Payment.objects.filter(invoice=invoice).exists()
