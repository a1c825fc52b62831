"""Write-offs: asked for by one person, approved by a partner or firm admin who is someone else.

On approval: Dr write-offs / Cr receivable, and the invoice moves to written off
when nothing is left due.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from billing.invoices.models import Invoice, WriteOff
from billing.invoices.states import settle
from billing.ledger.accounts import account_for
from billing.ledger.models import Account
from billing.ledger.services import Line, journal_post
from billing.locks import money_transaction
from billing.money import Money
from core.audit.actions import AuditAction
from core.audit.services import audit_record
from core.models import User

APPROVE_ADJUSTMENT = "billing.approve_adjustment"
OPEN = frozenset({Invoice.Status.ISSUED, Invoice.Status.PARTIALLY_PAID})


def check_approver(*, approver: User, requester_id: int) -> None:
    """Approvals need the role permission and a second person: nobody approves their own request."""
    if not approver.has_perm(APPROVE_ADJUSTMENT):
        raise PermissionDenied("Your role does not approve credit notes or write-offs.")
    if approver.pk == requester_id:
        raise PermissionDenied("Someone other than the requester must approve this.")


@money_transaction
def write_off_request(*, invoice: Invoice, amount: Money, reason: str, by: User) -> WriteOff:
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status not in OPEN:
        raise ValidationError(f"{invoice} has nothing due to write off")
    if amount.currency != invoice.currency or not 0 < amount.minor <= invoice.balance_due_minor:
        raise ValidationError(f"a write-off is between 0 and the balance due ({invoice.balance_due.format()})")
    if not reason.strip():
        raise ValidationError("say why the amount is written off")
    write_off = WriteOff.objects.create(invoice=invoice, amount_minor=amount.minor, reason=reason, requested_by=by)
    audit_record(
        AuditAction.WRITE_OFF_REQUEST,
        actor=by,
        target=write_off,
        data={"invoice": invoice.pk, "amount_minor": amount.minor},
    )
    return write_off


@money_transaction
def write_off_decide(*, write_off: WriteOff, approve: bool, by: User) -> WriteOff:
    write_off = WriteOff.objects.select_for_update().get(pk=write_off.pk)
    check_approver(approver=by, requester_id=write_off.requested_by_id)
    if write_off.status != WriteOff.Status.REQUESTED:
        raise ValidationError("this write-off was already decided")
    write_off.decided_by = by
    write_off.decided_at = timezone.now()
    if not approve:
        write_off.status = WriteOff.Status.REJECTED
        write_off.save()
        audit_record(AuditAction.WRITE_OFF_REJECT, actor=by, target=write_off, data={"invoice": write_off.invoice_id})
        return write_off
    invoice = Invoice.objects.select_for_update(of=("self",)).select_related("matter").get(pk=write_off.invoice_id)
    if invoice.status not in OPEN or write_off.amount_minor > invoice.balance_due_minor:
        raise ValidationError(f"{invoice} no longer has {write_off.amount_minor} minor units due")
    kind = Account.Kind
    write_off.entry = journal_post(
        kind="invoice.write_off",
        lines=[
            Line.debit(account_for(kind.WRITE_OFFS, currency=invoice.currency), write_off.amount),
            Line.credit(
                account_for(kind.RECEIVABLE, matter=invoice.matter, currency=invoice.currency), write_off.amount
            ),
        ],
        memo=f"write-off on {invoice.display_number}: {write_off.reason}",
        by=by,
        source=write_off,
    )
    write_off.status = WriteOff.Status.APPROVED
    write_off.save()
    invoice.written_off_minor += write_off.amount_minor
    settle(invoice)
    invoice.save()
    audit_record(
        AuditAction.WRITE_OFF_APPROVE,
        actor=by,
        target=write_off,
        data={"invoice": invoice.pk, "amount_minor": write_off.amount_minor, "requested_by": write_off.requested_by_id},
    )
    return write_off
