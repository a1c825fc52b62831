"""Online payments made for staff-side tests: the firm's two enabled accounts and payments Stripe has taken.

The accounts are rows (their ids are made up: localstripe has no Connect, and the
recording front of ``tests/support/stripe.py`` stands in for the ``Stripe-Account``
header). A payment is started as Portico starts one (its row and idempotency key
first, then the PaymentIntent created through the gateway on the payment's
account), paid against localstripe as Stripe.js would, and its signed
``payment_intent.succeeded`` event applied by ``billing.stripe.webhooks`` (the
ledger posting the staff pages show). Independent of how the client reaches the
card form (Payment Element or Checkout). Run inside the firm's schema.
"""

from __future__ import annotations

import secrets
from typing import Any

from billing.invoices.models import Invoice
from billing.money import Money
from billing.stripe.models import ConnectedAccount, OnlinePayment, RetainerRequest
from billing.stripe.services import retainer_request_create
from billing.stripe.webhooks import event_apply
from core.models import User
from tests.support.stripe import StripeFront, charge_refunded, event


def accounts_enabled(by: User) -> dict[str, ConnectedAccount]:
    """The firm's trust and operating accounts, onboarded (enabled), with made-up Stripe ids."""
    return {
        kind: ConnectedAccount.objects.create(
            kind=kind,
            stripe_account_id=f"acct_{kind}_{secrets.token_hex(4)}",
            idempotency_key=f"test-account-{kind}-{secrets.token_hex(4)}",
            status=ConnectedAccount.Status.ENABLED,
            created_by=by,
        )
        for kind in ("trust", "operating")
    }


def online_payment_started(
    front: StripeFront, account: ConnectedAccount, *, client: User, amount: Money, **what: Invoice | RetainerRequest
) -> OnlinePayment:
    purpose = "invoice" if "invoice" in what else "retainer"
    matter = next(iter(what.values())).matter
    payment = OnlinePayment.objects.create(
        purpose=purpose,
        account=account,
        account_kind=account.kind,
        client=client,
        matter=matter,
        amount_minor=amount.minor,
        currency=amount.currency,
        idempotency_key=f"test-payment-{secrets.token_hex(6)}",
        **what,
    )
    assert account.stripe_account_id is not None
    # The PaymentIntent a completed Checkout page leaves behind, made at localstripe directly.
    intent = front.ls(
        "POST",
        "/v1/payment_intents",
        {
            "amount": str(amount.minor),
            "currency": amount.currency.lower(),
            "payment_method_types[]": "card",
            "metadata[portico_payment]": str(payment.pk),
        },
    )
    payment.payment_intent_id = intent["id"]
    payment.save(update_fields=["payment_intent_id"])
    return payment


def paid(front: StripeFront, payment: OnlinePayment) -> dict[str, Any]:
    """The client pays ``payment`` with a card at localstripe; the signed success event is applied."""
    intent = front.pay(str(payment.payment_intent_id))
    assert event_apply(event("payment_intent.succeeded", intent, account=_account(payment))) == "applied"
    payment.refresh_from_db()
    return intent


def invoice_paid(front: StripeFront, accounts: dict[str, ConnectedAccount], invoice: Invoice) -> OnlinePayment:
    payment = online_payment_started(
        front, accounts["operating"], client=invoice.client, amount=invoice.balance_due, invoice=invoice
    )
    paid(front, payment)
    return payment


def retainer_paid(
    front: StripeFront, accounts: dict[str, ConnectedAccount], *, matter: Any, amount: Money, by: User
) -> OnlinePayment:
    retainer = retainer_request_create(matter=matter, amount=amount, purpose="Anticipo", by=by)
    payment = online_payment_started(front, accounts["trust"], client=matter.client, amount=amount, retainer=retainer)
    paid(front, payment)
    return payment


def refunded_at_stripe(front: StripeFront, payment: OnlinePayment, *, amount_refunded: int) -> str:
    """Stripe's ``charge.refunded`` for ``payment`` (cumulative amount), applied; answers the outcome."""
    intent = front.ls("GET", f"/v1/payment_intents/{payment.payment_intent_id}")
    body = event("charge.refunded", charge_refunded(intent, amount_refunded=amount_refunded), account=_account(payment))
    outcome = event_apply(body)
    payment.refresh_from_db()
    return outcome


def _account(payment: OnlinePayment) -> str:
    return str(ConnectedAccount.objects.get(pk=payment.account_id).stripe_account_id)
