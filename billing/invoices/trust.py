"""Paying an issued invoice from the client's trust funds (the posting itself is ``billing.trust``'s)."""

from __future__ import annotations

from django.utils import timezone

from billing.events import invoice_payment_succeeded
from billing.invoices.models import Invoice, Payment
from billing.invoices.states import settle
from billing.ledger.models import Account
from billing.locks import money_transaction
from billing.money import Money
from billing.trust.selectors import cleared_funds
from billing.trust.services import trust_apply_to_invoice
from core.audit.actions import AuditAction
from core.audit.services import audit_record
from core.models import User


@money_transaction
def invoice_apply_trust(*, invoice: Invoice, by: User | None) -> Payment | None:
    """Apply as much of the client's cleared trust funds for the invoice's matter as is due; None if none.

    The client-matter trust account is locked before its cleared funds are read,
    so concurrent applications and disbursements queue instead of overdrawing.
    """
    invoice = Invoice.objects.select_for_update(of=("self",)).select_related("matter", "client").get(pk=invoice.pk)
    if invoice.status not in (Invoice.Status.ISSUED, Invoice.Status.PARTIALLY_PAID):
        return None
    trust = (
        Account.objects.select_for_update(no_key=True)
        .filter(kind=Account.Kind.CLIENT_TRUST, client=invoice.client, matter=invoice.matter, currency=invoice.currency)
        .first()
    )
    if trust is None:
        return None
    today = timezone.localdate()
    amount = min(cleared_funds(account=trust, on=today).minor, invoice.balance_due_minor)
    if amount <= 0:
        return None
    entry = trust_apply_to_invoice(
        invoice_like=invoice,
        amount=Money(amount, invoice.currency),
        by=by,
        occurred_on=today,
    )
    payment = Payment.objects.create(
        invoice=invoice,
        method=Payment.Method.TRUST,
        amount_minor=amount,
        currency=invoice.currency,
        received_on=today,
        reference="trust",
        recorded_by=by,
        entry=entry,
    )
    invoice.paid_minor += amount
    settle(invoice)
    invoice.save()
    audit_record(
        AuditAction.INVOICE_PAYMENT,
        actor=by,
        target=invoice,
        data={"method": Payment.Method.TRUST, "amount_minor": amount, "payment": payment.pk},
    )
    invoice_payment_succeeded(payment)
    return payment
