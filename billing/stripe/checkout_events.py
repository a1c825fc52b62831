"""The Checkout side of Stripe's events: finding a payment paid on a Stripe-hosted page, and the session's end.

A payment started through Checkout has no PaymentIntent until the client pays.
Its events find it anyway: ``checkout.session.*`` by the session's id, and a
``payment_intent.*`` (or its charge) that comes before
``checkout.session.completed`` by the ``portico_payment`` metadata Portico set
on the PaymentIntent (``payment_intent_data[metadata]``), only for a payment of
this firm whose PaymentIntent is still unknown. The event's account and
currency are then checked by ``webhooks._mismatch`` and the amount by the
handler, as for any event; the id is saved with the handler's effect.

Handled here (registered in ``webhooks._HANDLERS``): ``checkout.session.completed``
records the PaymentIntent on the payment (the money itself is posted by
``payment_intent.succeeded``); ``checkout.session.expired`` marks an unpaid
payment expired, and the client's status page says nothing was charged.
"""

from __future__ import annotations

from typing import Any

from billing.stripe.models import OnlinePayment
from tenants.current import current_firm


def payment_for_checkout(obj: dict[str, Any]) -> OnlinePayment | None:
    """The (locked) payment an event's object is about when its PaymentIntent id is not yet on the payment."""
    payments = OnlinePayment.objects.select_for_update(of=("self",)).select_related("account")
    if obj.get("object") == "checkout.session":
        return payments.filter(checkout_session_id=str(obj.get("id") or "")).first()
    if obj.get("object") not in ("payment_intent", "charge"):
        return None
    metadata = obj.get("metadata") or {}
    reference, firm = str(metadata.get("portico_payment") or ""), metadata.get("portico_firm")
    if not reference.isdigit() or firm != current_firm().schema_name:
        return None
    # Only a payment started on a Checkout page: Portico learns its PaymentIntent from Stripe's events. One
    # Portico created itself (a plan's installment) waits for the call's answer instead (webhooks, RetryLater).
    payment = payments.filter(
        pk=int(reference), payment_intent_id__isnull=True, checkout_session_id__isnull=False
    ).first()
    intent = obj.get("id") if obj.get("object") == "payment_intent" else obj.get("payment_intent")
    if payment is not None and intent:
        payment.payment_intent_id = str(intent)  # saved by the handler with its effect, never on a refusal
    return payment


def session_completed(payment: OnlinePayment, obj: dict[str, Any]) -> str:
    """The client paid on Stripe's page: record the PaymentIntent (its own event posts the money)."""
    intent = obj.get("payment_intent")
    if isinstance(intent, dict):
        intent = intent.get("id")
    if obj.get("amount_total") != payment.amount_minor or not intent:
        return "refused"
    if payment.payment_intent_id == intent:
        return "duplicate"
    if payment.payment_intent_id:
        return "refused"  # the payment is already about another PaymentIntent
    payment.payment_intent_id = str(intent)
    payment.save(update_fields=["payment_intent_id"])
    return "applied"


def session_expired(payment: OnlinePayment, obj: dict[str, Any]) -> str:
    """The page closed unpaid (left, or its hour passed): nothing was charged."""
    if payment.status != OnlinePayment.Status.STARTED or payment.payment_intent_id:
        return "duplicate"
    payment.status = OnlinePayment.Status.EXPIRED
    payment.save(update_fields=["status"])
    return "applied"
