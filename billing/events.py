"""Billing's outgoing webhook events (``core.webhooks.events`` documents the payloads), in the change's transaction.

Amounts are in minor units with their currency; people appear only by id.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.webhooks import event_emit

if TYPE_CHECKING:
    from billing.invoices.models import Invoice, Payment
    from billing.stripe.models import OnlinePayment


def _invoice(invoice: Invoice) -> dict[str, Any]:
    return {
        "invoice": invoice.pk,
        "number": invoice.display_number,
        "matter": invoice.matter_id,
        "reference": invoice.matter.reference,
        "total_minor": invoice.total_minor,
        "currency": invoice.currency,
    }


def invoice_issued(invoice: Invoice) -> None:
    event_emit(type="invoice.issued", data={**_invoice(invoice), "due_on": invoice.due_on})


def invoice_paid(invoice: Invoice) -> None:
    event_emit(type="invoice.paid", data=_invoice(invoice))


def invoice_payment_succeeded(payment: Payment) -> None:
    invoice = payment.invoice
    event_emit(
        type="payment.succeeded",
        data={
            "payment": payment.pk,
            "purpose": "invoice",
            "method": payment.method,
            "invoice": invoice.pk,
            "number": invoice.display_number,
            "matter": invoice.matter_id,
            "reference": invoice.matter.reference,
            "amount_minor": payment.amount_minor,
            "currency": payment.currency,
        },
    )


def online_payment_event(type: str, payment: OnlinePayment, **data: object) -> None:
    """``payment.succeeded`` (a retainer paid online) or ``payment.refunded``, about a Stripe payment."""
    event_emit(
        type=type,
        data={
            "payment": payment.pk,
            "method": "online",
            "matter": payment.matter_id,
            "reference": payment.matter.reference,
            "currency": payment.currency,
            **data,
        },
    )
