"""The online-payment events: a card payment of an invoice or a retainer, and a refund, as Stripe reports them.

The payments go through the Stripe-speaking test server (``stripe_front``) and
the signed Stripe webhook, exactly as in tests/test_stripe_payments.py, whose
helpers these tests use; they then read the outbox.
"""

from __future__ import annotations

from billing.money import Money
from core.models import WebhookEndpoint, WebhookEvent
from core.webhooks import endpoint_secret_new
from tests.support.cast import Cast
from tests.support.stripe import StripeFront, charge_refunded, event
from tests.test_stripe_payments import (
    connect_both,
    lucia_invoice,
    paid_on_stripe,
    pay_retainer,
    post_event,
    start_invoice_payment,
)


def _emitted(cast: Cast, type: str) -> list[dict[str, object]]:
    with cast.firm.tenant:
        return [e.payload["data"] for e in WebhookEvent.objects.filter(type=type).order_by("id")]


def test_a_card_payment_of_an_invoice_then_a_refund(cast: Cast, stripe_front: StripeFront) -> None:
    accounts = connect_both(cast)
    with cast.firm.tenant:
        WebhookEndpoint.objects.create(url="https://hooks.acme.test/all", secret=endpoint_secret_new())
    invoice = lucia_invoice(cast)
    payment = start_invoice_payment(cast, invoice)
    intent = paid_on_stripe(stripe_front, payment)
    operating = str(accounts["operating"].stripe_account_id)

    succeeded = event("payment_intent.succeeded", intent, account=operating)
    post_event(succeeded)
    post_event(succeeded)  # Stripe retried: no second event either
    post_event(event("charge.refunded", charge_refunded(intent, amount_refunded=100_00), account=operating))

    [paid] = _emitted(cast, "payment.succeeded")
    assert (paid["purpose"], paid["method"], paid["invoice"], paid["amount_minor"]) == (
        "invoice",
        "online",
        invoice.pk,
        payment.amount_minor,
    )
    assert [e["invoice"] for e in _emitted(cast, "invoice.paid")] == [invoice.pk]
    assert _emitted(cast, "payment.refunded") == [
        {
            "payment": payment.pk,
            "method": "online",
            "matter": cast.lucia_matter.pk,
            "reference": cast.lucia_matter.reference,
            "currency": payment.currency,
            "amount_minor": 100_00,
            "refunded_minor": 100_00,
        }
    ]


def test_a_retainer_paid_by_card_is_a_payment_and_a_trust_deposit(cast: Cast, stripe_front: StripeFront) -> None:
    accounts = connect_both(cast)
    with cast.firm.tenant:
        WebhookEndpoint.objects.create(url="https://hooks.acme.test/all", secret=endpoint_secret_new())

    payment, _ = pay_retainer(cast, stripe_front, str(accounts["trust"].stripe_account_id), Money(300_00))

    [paid] = _emitted(cast, "payment.succeeded")
    assert (paid["payment"], paid["purpose"], paid["amount_minor"]) == (payment.pk, "retainer", 300_00)
    [deposited] = _emitted(cast, "trust.deposited")
    assert (deposited["method"], deposited["amount_minor"], deposited["cleared"]) == ("card", 300_00, False)
