"""Reads on invoices, and the one accessor for invoices, credit notes and write-offs.

Who reaches an invoice:

* staff whose role has ``billing.view_billing`` (firm admin, partner, billing
  clerk): every invoice of the firm — billing is firm-wide work;
* the client of the invoice, through a matter the access rules give them
  (``core.access.matters_for_user``), once it is issued (drafts are internal).

Everyone else, and every "does not exist", gets the same 404.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from billing.credit_notes.models import CreditNote
from billing.invoices.models import Invoice, Payment, WriteOff
from core.access import matters_for_user

VIEW_BILLING = "billing.view_billing"
MANAGE_INVOICES = "billing.manage_invoices"
ISSUE_INVOICE = "billing.issue_invoice"


def sees_all_billing(user: Any) -> bool:
    return bool(user.is_authenticated and user.is_active and user.is_staff and user.has_perm(VIEW_BILLING))


def invoices_for_user(user: Any) -> QuerySet[Invoice]:
    if not user.is_authenticated or not user.is_active:
        return Invoice.objects.none()
    if sees_all_billing(user):
        return Invoice.objects.all()
    return Invoice.objects.filter(client=user, matter__in=matters_for_user(user)).exclude(status=Invoice.Status.DRAFT)


def _pk(value: object, what: str) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise Http404(f"No such {what}.") from None


def invoice_for_user(user: Any, invoice_id: object) -> Invoice:
    """The invoice if ``user`` may see it; Http404 when it is missing or not theirs."""
    invoice = (
        invoices_for_user(user)
        .select_related("matter", "client", "created_by", "issued_by")
        .filter(pk=_pk(invoice_id, "invoice"))
        .first()
    )
    if invoice is None:
        raise Http404("No such invoice.")
    return invoice


def credit_note_for_user(user: Any, credit_note_id: object) -> CreditNote:
    notes = CreditNote.objects.filter(invoice__in=invoices_for_user(user))
    if not sees_all_billing(user):
        notes = notes.filter(status=CreditNote.Status.APPROVED)
    note = notes.select_related("invoice", "matter").filter(pk=_pk(credit_note_id, "credit note")).first()
    if note is None:
        raise Http404("No such credit note.")
    return note


def write_off_for_user(user: Any, write_off_id: object) -> WriteOff:
    if not sees_all_billing(user):
        raise Http404("No such write-off.")
    found = WriteOff.objects.select_related("invoice").filter(pk=_pk(write_off_id, "write-off")).first()
    if found is None:
        raise Http404("No such write-off.")
    return found


def payments_for_user(user: Any) -> QuerySet[Payment]:
    return Payment.objects.filter(invoice__in=invoices_for_user(user)).select_related("invoice")


def pending_adjustments() -> tuple[QuerySet[CreditNote], QuerySet[WriteOff]]:
    return (
        CreditNote.objects.filter(status=CreditNote.Status.REQUESTED).select_related("invoice", "requested_by"),
        WriteOff.objects.filter(status=WriteOff.Status.REQUESTED).select_related("invoice", "requested_by"),
    )
