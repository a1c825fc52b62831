"""Paying from a phone in real Chromium (issue 12, "a browser test"), with axe-core on each Portico page.

Lucía prefers Spanish and uses a 375 px phone. On her billing page she pays
part of an invoice and then a retainer: each "Pagar" opens the payment link's
page, and its "Pagar" hands her over to Stripe's hosted Checkout page. What she
does there is the recording front's ``checkout_complete`` (localstripe has no
Checkout; the front makes and pays a real PaymentIntent on localstripe with
the session's amount and metadata, see tests/support/stripe.py). The test then
signs Stripe's events and posts them over HTTP to the real endpoint of the
running app, and Lucía's browser follows Stripe's return address to the status
page, which reads "confirming" before the event and "received" after it.

The app, the firm and Chromium are those of tests/test_browser_journey.py
(its ``journey`` fixture, recorder and phone); screenshots go to
``test-artifacts/browser-checkout/`` (git-ignored).
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from billing.invoices.models import Invoice
from billing.money import Money
from billing.stripe.models import ConnectedAccount, OnlinePayment
from billing.stripe.services import (
    connected_account_create,
    connected_account_link,
    connected_account_refresh,
    retainer_request_create,
)
from core.models import User
from tests import test_browser_journey as browser_journey
from tests.support.billing import issued
from tests.support.stripe import StripeFront, event, sign
from tests.test_browser_journey import CHROMIUM_ARGS, Journey, Recorder, _fits_the_phone, _phone, journey  # noqa: F401

pytestmark = pytest.mark.slow
PASSWORD = "Montaña-azul-2026!"


def _post_signed(base_url: str, body: dict[str, Any]) -> dict[str, Any]:
    """Stripe posting an event to the shared endpoint (on the base domain, not the firm's subdomain)."""
    payload = json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 - the app on loopback
        base_url.replace("journey.localhost", "localhost") + "/stripe/webhook/",
        data=payload,
        method="POST",
        headers={"Content-Type": "application/json", "Stripe-Signature": sign(payload)},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - the app on loopback
        result: dict[str, Any] = json.loads(answer.read())
        return result


def _hand_over(phone: Page, rec: Recorder, name: str, *, amount: str = "") -> str:
    """From the payment link's page to Stripe's hosted page; the URL Portico sent the phone to."""
    expect(phone.get_by_role("heading", name="Pagar en línea")).to_be_visible()
    if amount:
        phone.get_by_label("Monto a pagar ahora (opcional)").fill(amount)
    rec.shot(phone, f"{name}-pay-page")
    _fits_the_phone(phone)
    phone.get_by_role("button", name="Pagar", exact=True).click()
    expect(phone.get_by_role("heading", name="Checkout (test)")).to_be_visible()
    rec.shot(phone, f"{name}-stripe-checkout", audit=False)  # Stripe's page, not Portico's
    return phone.url


def test_a_spanish_speaking_client_pays_an_invoice_in_part_and_a_retainer_from_her_phone(
    journey: Journey,  # noqa: F811 - the fixture, imported
    stripe_front: StripeFront,
    django_db_blocker: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(browser_journey, "ARTIFACTS", browser_journey.ARTIFACTS.parent / "browser-checkout")
    with django_db_blocker.unblock(), journey.tenant:
        admin = User.objects.get(email="admin@journey.test")
        lucia = User.objects.get(email="lucia@journey.test")
        lucia.set_password(PASSWORD)
        lucia.save(update_fields=["password"])
        accounts = {}
        for kind in ("trust", "operating"):
            account = connected_account_create(kind=kind, by=admin)
            connected_account_link(account=account, by=admin, refresh_url="http://x/", return_url="http://x/")
            accounts[kind] = str(connected_account_refresh(account=account).stripe_account_id)
        invoice = issued(journey.matter, admin, "PET-FLAT")
        retainer = retainer_request_create(
            matter=journey.matter, amount=Money(750_00, invoice.currency), purpose="Anticipo I-130", by=admin
        )
    rec = Recorder()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        try:
            phone = _phone(browser)
            phone.goto(f"{journey.base_url}/accounts/login/")
            phone.get_by_label("Correo electrónico").fill("lucia@journey.test")
            phone.get_by_label("Contraseña").fill(PASSWORD)
            phone.get_by_role("button", name="Iniciar sesión").click()
            expect(phone.get_by_role("heading", name="Mis casos")).to_be_visible()
            phone.goto(f"{journey.base_url}/portal/billing/")
            expect(phone.get_by_role("heading", name="Facturación")).to_be_visible()
            rec.shot(phone, "billing-with-pay-buttons")
            _fits_the_phone(phone)

            # Part of the invoice, typed as Spanish writes it.
            phone.get_by_test_id(f"pay-invoice-{invoice.pk}").click()
            checkout = _hand_over(phone, rec, "invoice", amount="100,00")
            session = stripe_front.session_for(checkout)
            assert session["amount_total"] == 100_00
            assert session["locale"] == "es"
            session, intent = stripe_front.checkout_complete(session["id"])
            assert (
                _post_signed(
                    journey.base_url, event("checkout.session.completed", session, account=accounts["operating"])
                )["outcome"]
                == "queued"  # applied by its task, run eagerly in this test (a worker runs it in production)
            )
            assert (
                _post_signed(
                    journey.base_url, event("payment_intent.succeeded", intent, account=accounts["operating"])
                )["outcome"]
                == "queued"  # applied by its task, run eagerly in this test (a worker runs it in production)
            )
            phone.goto(session["success_url"])  # Stripe sends her back
            expect(phone.get_by_test_id("payment-outcome")).to_contain_text("Recibimos su pago de 100,00")
            rec.shot(phone, "invoice-paid")
            _fits_the_phone(phone)

            # The retainer, in full, into trust.
            phone.get_by_role("link", name="Volver a facturación").click()
            phone.get_by_test_id(f"pay-retainer-{retainer.pk}").click()
            checkout = _hand_over(phone, rec, "retainer")
            session, intent = stripe_front.checkout_complete(stripe_front.session_for(checkout)["id"])
            phone.goto(session["success_url"])
            expect(phone.get_by_test_id("payment-outcome")).to_contain_text("Estamos confirmando su pago")
            rec.shot(phone, "retainer-confirming")
            assert (
                _post_signed(journey.base_url, event("payment_intent.succeeded", intent, account=accounts["trust"]))[
                    "outcome"
                ]
                == "queued"
            )
            phone.reload()
            expect(phone.get_by_test_id("payment-outcome")).to_contain_text("Recibimos su pago de 750,00")
            rec.shot(phone, "retainer-paid")
            _fits_the_phone(phone)
        finally:
            browser.close()
    assert rec.violations == {}
    assert {"billing-with-pay-buttons", "invoice-pay-page", "invoice-paid", "retainer-paid"} <= set(rec.checked)
    calls = stripe_front.made("POST", "/v1/checkout/sessions")
    assert [call.stripe_account for call in calls] == [accounts["operating"], accounts["trust"]]
    with django_db_blocker.unblock(), journey.tenant:
        invoice.refresh_from_db()
        assert (invoice.status, invoice.paid_minor) == (Invoice.Status.PARTIALLY_PAID, 100_00)
        paid = OnlinePayment.objects.filter(status=OnlinePayment.Status.SUCCEEDED)
        assert sorted(p.account.kind for p in paid) == [ConnectedAccount.Kind.OPERATING, ConnectedAccount.Kind.TRUST]
