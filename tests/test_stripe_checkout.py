"""Paying on Stripe-hosted Checkout (issue 12 item 3): payment links, partial payments, the return page.

Real parts: localstripe (PyPI) holds the PaymentIntents the client pays;
PostgreSQL the books; the events are signed here and posted to the real
webhook endpoint. localstripe has no Connect and no Checkout Sessions, so the
recording front in ``tests/support/stripe.py`` answers ``/v1/checkout/sessions``
(objects shaped from Stripe's example ``checkout.session``) and records each
request's ``Stripe-Account`` and ``Idempotency-Key``; "the client pays on
Stripe's page" is the front creating a real PaymentIntent on localstripe with
the session's amount and metadata and paying it with a test card.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest
from django.core import mail
from django.urls import reverse

from billing.invoices.models import Invoice
from billing.invoices.pdf import invoice_pdf
from billing.money import Money
from billing.stripe import gateway
from billing.stripe.models import OnlinePayment, RetainerRequest
from billing.stripe.services import retainer_request_create
from billing.trust.models import TrustSettings
from core.audit.models import AuditEntry
from core.mail import firm_link
from tests.support.billing import draft
from tests.support.cast import Cast
from tests.support.firms import Firm
from tests.support.stripe import StripeFront, event
from tests.test_stripe_payments import connect_both, lucia_invoice, post_event


def _minimum(cast: Cast, minor: int) -> None:
    with cast.firm.tenant:
        TrustSettings.objects.filter(pk=TrustSettings.load().pk).update(partial_payment_minimum_minor=minor)


def _retainer(cast: Cast, amount: Money | None = None) -> RetainerRequest:
    amount = amount or Money(800_00)
    with cast.firm.tenant:
        return retainer_request_create(matter=cast.lucia_matter, amount=amount, purpose="Anticipo I-130", by=cast.bill)


def _payment(cast: Cast, **target: object) -> OnlinePayment:
    with cast.firm.tenant:
        return OnlinePayment.objects.select_related("account").get(**target)


def _es(minor: int) -> str:
    return Money(minor).format("es")


def test_an_invoice_link_hands_over_to_checkout_on_the_operating_account(cast: Cast, stripe_front: StripeFront) -> None:
    accounts = connect_both(cast)
    invoice = lucia_invoice(cast)
    link = f"/portal/billing/invoices/{invoice.pk}/pay/"
    lucia = cast.client_of(cast.lucia)
    page = lucia.get(link).content.decode()
    assert "Pagar en línea" in page
    assert _es(invoice.balance_due_minor) in page
    assert "Pagar</button>" in page

    response = lucia.post(link)
    assert response.status_code == 303
    payment = _payment(cast, invoice=invoice)
    assert response["Location"] == payment.checkout_url
    assert payment.checkout_url.startswith(f"{stripe_front.url}/checkout/pay/cs_test_")
    assert (payment.account_kind, payment.amount_minor) == ("operating", invoice.balance_due_minor)
    (call,) = stripe_front.made("POST", "/v1/checkout/sessions")
    assert call.stripe_account == accounts["operating"].stripe_account_id  # a direct charge on operating
    assert call.idempotency_key == payment.idempotency_key
    form = {key: values[0] for key, values in call.form.items()}
    assert form["mode"] == "payment"
    assert form["locale"] == "es"
    assert form["payment_intent_data[metadata][portico_payment]"] == str(payment.pk)
    assert form["payment_intent_data[metadata][portico_firm]"] == cast.firm.tenant.schema_name
    with cast.firm.tenant:
        status = firm_link(f"/portal/billing/payments/{payment.pk}/")
    assert form["success_url"] == status
    assert form["cancel_url"] == f"{status}?left=1"
    assert payment.checkout_expires_at is not None
    assert int(form["expires_at"]) == int(payment.checkout_expires_at.timestamp())
    # Stripe's hosted page is where the browser lands.
    assert "Checkout (test)" in _get(payment.checkout_url)
    with cast.firm.tenant:
        (started,) = AuditEntry.objects.filter(action="stripe.payment_start")
        assert json.loads(started.data)["checkout_session"] == payment.checkout_session_id


def _get(url: str) -> str:
    import urllib.request

    with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 - the loopback front
        return str(answer.read().decode())


def test_a_retainer_link_charges_the_full_amount_on_the_trust_account(cast: Cast, stripe_front: StripeFront) -> None:
    accounts = connect_both(cast)
    retainer = _retainer(cast)
    link = f"/portal/billing/retainers/{retainer.pk}/pay/"
    page = cast.client_of(cast.lucia).get(link).content.decode()
    assert _es(800_00) in page
    assert 'name="amount"' not in page  # a retainer is paid in full
    assert cast.client_of(cast.lucia).post(link, {"amount": "1.00"}).status_code == 303
    payment = _payment(cast, retainer=retainer)
    (call,) = stripe_front.made("POST", "/v1/checkout/sessions")
    assert call.stripe_account == accounts["trust"].stripe_account_id
    assert call.form["line_items[0][price_data][unit_amount]"] == ["80000"]
    assert (payment.account_kind, payment.amount_minor) == ("trust", 800_00)


def test_a_partial_payment_is_between_the_firms_minimum_and_the_balance(cast: Cast, stripe_front: StripeFront) -> None:
    connect_both(cast)
    _minimum(cast, 100_00)
    invoice = lucia_invoice(cast)
    balance = invoice.balance_due_minor
    assert balance > 150_50
    link = f"/portal/billing/invoices/{invoice.pk}/pay/"
    lucia = cast.client_of(cast.lucia)
    assert f"al menos {_es(100_00)}" in lucia.get(link).content.decode()  # the firm's minimum, formatted

    too_little = lucia.post(link, {"amount": "99,99"})
    assert too_little.status_code == 400
    text = too_little.content.decode()
    assert f"Pague al menos {_es(100_00)}, o todo el saldo de {_es(balance)}." in text
    assert 'value="99,99"' in text  # what she typed is still there
    too_much = lucia.post(link, {"amount": str(balance / 100 + 1)}).content.decode()
    assert f"Puede pagar como máximo el saldo pendiente, {_es(balance)}." in too_much
    assert "Escriba un monto como 150,00." in lucia.post(link, {"amount": "1e3"}).content.decode()
    assert not stripe_front.made("POST", "/v1/checkout/sessions")

    assert lucia.post(link, {"amount": "150,50"}).status_code == 303  # as Spanish writes it
    payment = _payment(cast, invoice=invoice)
    assert payment.amount_minor == 150_50
    (call,) = stripe_front.made("POST", "/v1/checkout/sessions")
    assert call.form["line_items[0][price_data][unit_amount]"] == ["15050"]


def test_pressing_pay_twice_opens_one_checkout(cast: Cast, stripe_front: StripeFront) -> None:
    connect_both(cast)
    invoice = lucia_invoice(cast)
    lucia = cast.client_of(cast.lucia)
    first = lucia.post(f"/portal/billing/invoices/{invoice.pk}/pay/")
    second = lucia.post(f"/portal/billing/invoices/{invoice.pk}/pay/")
    assert first["Location"] == second["Location"]
    assert len(stripe_front.made("POST", "/v1/checkout/sessions")) == 1
    with cast.firm.tenant:
        assert OnlinePayment.objects.filter(invoice=invoice).count() == 1


def test_the_key_is_saved_before_the_call_so_a_crash_creates_no_second_checkout(
    cast: Cast, stripe_front: StripeFront, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process dies after Stripe made the session, before Portico saved it; "Pay" again reuses the key."""
    connect_both(cast)
    invoice = lucia_invoice(cast)
    real = gateway.checkout_session_create
    keys_on_rows: list[bool] = []

    def dies_once(**kwargs: Any) -> gateway.CheckoutSession:
        keys_on_rows.append(OnlinePayment.objects.filter(idempotency_key=kwargs["idempotency_key"]).exists())
        session = real(**kwargs)
        if len(keys_on_rows) == 1:
            raise ConnectionError("the process died after Stripe answered")
        return session

    monkeypatch.setattr(gateway, "checkout_session_create", dies_once)
    lucia = cast.client_of(cast.lucia)
    with pytest.raises(ConnectionError):
        lucia.post(f"/portal/billing/invoices/{invoice.pk}/pay/")
    again = lucia.post(f"/portal/billing/invoices/{invoice.pk}/pay/")
    assert again.status_code == 303
    assert keys_on_rows == [True, True]
    first, second = stripe_front.made("POST", "/v1/checkout/sessions")
    assert first.idempotency_key == second.idempotency_key
    assert first.form == second.form  # the same parameters, as Stripe requires for a repeated key
    assert len(stripe_front.sessions) == 1
    assert again["Location"] == _payment(cast, invoice=invoice).checkout_url


def test_the_return_page_says_confirming_until_the_signed_event_then_paid(
    cast: Cast, stripe_front: StripeFront
) -> None:
    accounts = connect_both(cast)
    operating = str(accounts["operating"].stripe_account_id)
    invoice = lucia_invoice(cast)
    lucia = cast.client_of(cast.lucia)
    lucia.post(f"/portal/billing/invoices/{invoice.pk}/pay/")
    payment = _payment(cast, invoice=invoice)
    status = f"/portal/billing/payments/{payment.pk}/"
    session, intent = stripe_front.checkout_complete(str(payment.checkout_session_id))
    assert intent["metadata"]["portico_payment"] == str(payment.pk)

    assert "Estamos confirmando su pago" in lucia.get(status).content.decode()  # back from Stripe, no event yet
    # The PaymentIntent's success may come before the session's: it is found by its metadata.
    assert post_event(event("payment_intent.succeeded", intent, account=operating)).outcome == "applied"
    assert post_event(event("checkout.session.completed", session, account=operating)).outcome == ("duplicate")
    assert "Recibimos su pago" in lucia.get(status).content.decode()
    with cast.firm.tenant:
        invoice.refresh_from_db()
        assert invoice.status == Invoice.Status.PAID
        payment.refresh_from_db()
        assert payment.payment_intent_id == intent["id"]


def test_a_completed_session_records_the_payment_intent_for_its_success(cast: Cast, stripe_front: StripeFront) -> None:
    accounts = connect_both(cast)
    trust = str(accounts["trust"].stripe_account_id)
    retainer = _retainer(cast, Money(300_00))
    cast.client_of(cast.lucia).post(f"/portal/billing/retainers/{retainer.pk}/pay/")
    payment = _payment(cast, retainer=retainer)
    session, intent = stripe_front.checkout_complete(str(payment.checkout_session_id))
    assert post_event(event("checkout.session.completed", session, account=trust)).outcome == "applied"
    with cast.firm.tenant:
        payment.refresh_from_db()
        assert payment.payment_intent_id == intent["id"]
        assert payment.status == OnlinePayment.Status.STARTED  # the money is posted by the PaymentIntent's event
    assert "Estamos confirmando su pago" in (
        cast.client_of(cast.lucia).get(f"/portal/billing/payments/{payment.pk}/").content.decode()
    )
    assert post_event(event("payment_intent.succeeded", intent, account=trust)).outcome == "applied"
    with cast.firm.tenant:
        retainer.refresh_from_db()
        assert retainer.status == RetainerRequest.Status.PAID


def test_a_payment_intent_claiming_a_payment_with_another_amount_posts_nothing(
    cast: Cast, stripe_front: StripeFront
) -> None:
    accounts = connect_both(cast)
    operating = str(accounts["operating"].stripe_account_id)
    invoice = lucia_invoice(cast)
    cast.client_of(cast.lucia).post(f"/portal/billing/invoices/{invoice.pk}/pay/")
    payment = _payment(cast, invoice=invoice)
    _session, intent = stripe_front.checkout_complete(str(payment.checkout_session_id))
    # Another PaymentIntent on the account, for 1.00, whose metadata claims the same payment: Portico reads it
    # back from Stripe (the event alone carries no fee) and refuses it for its amount.
    metadata = {f"metadata[{key}]": value for key, value in intent["metadata"].items()}
    other = stripe_front.ls(
        "POST", "/v1/payment_intents", {"amount": "100", "currency": intent["currency"], **metadata}
    )
    forged = stripe_front.pay(other["id"])
    assert forged["amount"] == 1_00
    assert post_event(event("payment_intent.succeeded", forged, account=operating)).outcome == "refused"
    other_firm = {**intent, "metadata": {**intent["metadata"], "portico_firm": "someone_else"}}
    assert post_event(event("payment_intent.succeeded", other_firm, account=operating)).outcome == ("refused")
    with cast.firm.tenant:
        payment.refresh_from_db()
        assert (payment.status, payment.payment_intent_id) == ("started", None)
        invoice.refresh_from_db()
        assert invoice.paid_minor == 0


def test_an_expired_or_left_checkout_charged_nothing(cast: Cast, stripe_front: StripeFront) -> None:
    accounts = connect_both(cast)
    invoice = lucia_invoice(cast)
    lucia = cast.client_of(cast.lucia)
    lucia.post(f"/portal/billing/invoices/{invoice.pk}/pay/")
    payment = _payment(cast, invoice=invoice)
    status = f"/portal/billing/payments/{payment.pk}/"
    left = lucia.get(f"{status}?left=1").content.decode()  # Stripe's "back" link (cancel_url)
    assert "Salió de la página de pago antes de pagar. No se cobró nada a su tarjeta." in left
    assert f'href="/portal/billing/invoices/{invoice.pk}/pay/">Intentar de nuevo' in left

    session = stripe_front.checkout_expire(str(payment.checkout_session_id))
    assert "no se completó. No se cobró nada" in lucia.get(status).content.decode()  # read from Stripe
    expired = event("checkout.session.expired", session, account=str(accounts["operating"].stripe_account_id))
    assert post_event(expired).outcome == "applied"
    assert post_event(expired).outcome == "duplicate"
    with cast.firm.tenant:
        payment.refresh_from_db()
        assert payment.status == OnlinePayment.Status.EXPIRED
    reads = stripe_front.made("GET", "/v1/checkout/sessions/")
    assert reads
    assert {read.stripe_account for read in reads} == {accounts["operating"].stripe_account_id}
    assert "no se completó. No se cobró nada" in lucia.get(status).content.decode()
    # "Pay" again opens a new page (the expired one is not offered).
    assert lucia.post(f"/portal/billing/invoices/{invoice.pk}/pay/").status_code == 303
    assert len(stripe_front.made("POST", "/v1/checkout/sessions")) == 2


def test_only_the_client_reaches_the_payment_links(cast: Cast, firm_b: Firm, stripe_front: StripeFront) -> None:
    connect_both(cast)
    invoice = lucia_invoice(cast)
    retainer = _retainer(cast)
    links = [f"/portal/billing/invoices/{invoice.pk}/pay/", f"/portal/billing/retainers/{retainer.pk}/pay/"]
    for link in links:
        for other in (cast.client_of(cast.dora), cast.client_of(cast.bill), firm_b.client(firm_b.admin)):
            assert other.get(link).status_code == 404
            assert other.post(link).status_code == 404
        outsider = cast.firm.client().get(link)
        assert outsider.status_code == 302
        assert "/accounts/login/" in outsider["Location"]
    with cast.firm.tenant:
        draft_invoice = draft(cast.lucia_matter, cast.alice, "PET-FLAT")
    assert cast.client_of(cast.lucia).get(f"/portal/billing/invoices/{draft_invoice.pk}/pay/").status_code == 404
    assert not stripe_front.made("POST", "/v1/checkout/sessions")


def test_the_billing_page_links_each_open_invoice_and_retainer_to_its_payment_page(
    cast: Cast, stripe_front: StripeFront
) -> None:
    connect_both(cast)
    invoice = lucia_invoice(cast)
    retainer = _retainer(cast)
    page = cast.client_of(cast.lucia).get("/portal/billing/").content.decode()
    assert (
        f'data-testid="pay-invoice-{invoice.pk}" href="{reverse("invoicing:client_invoice_pay", args=[invoice.pk])}"'
        in page
    )
    assert f'data-testid="pay-retainer-{retainer.pk}" href="/portal/billing/retainers/{retainer.pk}/pay/"' in page


def test_the_invoice_email_and_pdf_carry_the_absolute_payment_link(
    cast: Cast, stripe_front: StripeFront, django_capture_on_commit_callbacks: Any
) -> None:
    from billing.invoices.services import invoice_issue

    connect_both(cast)
    with cast.firm.tenant:
        made = draft(cast.lucia_matter, cast.alice, "PET-FLAT")
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            invoice = invoice_issue(invoice=made, by=cast.alice)
        link = firm_link(f"/portal/billing/invoices/{invoice.pk}/pay/")
        pdf = invoice_pdf(invoice)
    assert link.startswith(f"http://{cast.firm.host}")  # absolute, on the firm's own subdomain
    (message,) = mail.outbox
    assert message.to == [cast.lucia.email]
    assert message.subject.startswith(f"Factura {invoice.display_number} de ")
    assert f"Pague en línea: {link}" in message.body
    assert f"Saldo pendiente: {_es(invoice.balance_due_minor)}" in message.body
    text = subprocess.run(["pdftotext", "-raw", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    assert "Pagar en línea:" in text
    assert link in text.replace("\n", "")


def test_a_retainer_request_email_carries_its_payment_link(
    cast: Cast, stripe_front: StripeFront, django_capture_on_commit_callbacks: Any
) -> None:
    connect_both(cast)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        retainer = _retainer(cast, Money(600_00))
    (message,) = mail.outbox
    assert message.to == [cast.lucia.email]
    assert "le solicita un anticipo para el caso 2026-0101" in message.subject
    with cast.firm.tenant:
        assert f"Pague en línea: {firm_link(f'/portal/billing/retainers/{retainer.pk}/pay/')}" in message.body
    assert _es(600_00) in message.body


def test_the_firm_sets_the_minimum_in_its_currency_and_an_english_client_reads_it(
    cast: Cast, stripe_front: StripeFront
) -> None:
    connect_both(cast)
    admin = cast.client_of(cast.alice)
    assert 'value="50.00"' in admin.get("/staff/billing/trust/settings/").content.decode()  # the default, as an amount
    saved = admin.post(
        "/staff/billing/trust/settings/",
        {
            "currency": "USD",
            "two_approver_threshold": "5000.00",
            "low_balance": "500.00",
            "partial_payment_minimum": "75",
        },
    )
    assert saved.status_code == 302
    with cast.firm.tenant:
        assert TrustSettings.load().partial_payment_minimum == Money(75_00)
        invoice = issued_for_dora(cast)
    dora = cast.client_of(cast.dora)
    page = dora.get(f"/portal/billing/invoices/{invoice.pk}/pay/").content.decode()
    assert "pay part of it: at least $75.00." in page
    refused = dora.post(f"/portal/billing/invoices/{invoice.pk}/pay/", {"amount": "74.99"}).content.decode()
    assert f"Pay at least $75.00, or the whole balance of {invoice.balance_due.format('en')}." in refused


def issued_for_dora(cast: Cast) -> Invoice:
    from tests.support.billing import issued

    return issued(cast.dora_matter, cast.alice, "PET-FLAT")


def test_a_new_amount_closes_the_page_left_open_so_only_one_can_be_paid(cast: Cast, stripe_front: StripeFront) -> None:
    accounts = connect_both(cast)
    _minimum(cast, 100_00)
    invoice = lucia_invoice(cast)
    link = f"/portal/billing/invoices/{invoice.pk}/pay/"
    lucia = cast.client_of(cast.lucia)
    assert lucia.post(link, {"amount": "150"}).status_code == 303
    first = _payment(cast, invoice=invoice, amount_minor=150_00)
    assert lucia.post(link, {"amount": "200"}).status_code == 303  # she left Stripe's page and chose another amount
    (closed,) = stripe_front.made("POST", "/v1/checkout/sessions/")
    assert closed.path == f"/v1/checkout/sessions/{first.checkout_session_id}/expire"
    assert closed.stripe_account == accounts["operating"].stripe_account_id
    assert closed.idempotency_key == f"{first.idempotency_key}-expire"
    assert stripe_front.session(str(first.checkout_session_id))["status"] == "expired"
    second = _payment(cast, invoice=invoice, amount_minor=200_00)
    assert (_payment(cast, pk=first.pk).status, second.status) == ("expired", "started")

    stripe_front.checkout_complete(str(second.checkout_session_id))  # paid at Stripe, its events not here yet
    refused = lucia.post(link, {"amount": "300"})
    assert refused.status_code == 400
    assert (
        f"Estamos confirmando su pago de {_es(200_00)}. Espere la confirmación antes de volver a pagar."
        in refused.content.decode()
    )
    opened = [r for r in stripe_front.made("POST", "/v1/checkout/sessions") if r.path == "/v1/checkout/sessions"]
    assert len(opened) == 2  # no third page
    with cast.firm.tenant:
        assert not OnlinePayment.objects.filter(invoice=invoice, status="started").exclude(pk=second.pk).exists()
