"""Credit notes: requested against an invoice, approved by someone else, numbered and posted on approval.

Posting on approval (one entry):

* scope change, goodwill — the fee is reduced: Dr revenue; Cr receivable for what
  is still due, and Cr client credit for any part the client has already paid;
* overpayment, duplicate payment — money the client paid beyond what was due
  leaves the invoice: Dr receivable / Cr client credit.

Client credit is a liability to the client: applied to a later invoice
(``billing.invoices.services.client_credit_apply``) or refunded.
"""

from __future__ import annotations

from collections import defaultdict

from django.core.exceptions import ValidationError
from django.utils import timezone

from billing.credit_notes.models import CreditNote
from billing.invoices.models import Invoice
from billing.invoices.services import next_number
from billing.invoices.states import settle
from billing.invoices.write_offs import check_approver
from billing.ledger.accounts import account_for
from billing.ledger.models import Account
from billing.ledger.services import Line, journal_post
from billing.locks import money_transaction
from billing.money import Money
from core.audit.actions import AuditAction
from core.audit.services import audit_record
from core.models import User

Kind = Account.Kind
CREDITABLE = frozenset({Invoice.Status.ISSUED, Invoice.Status.PARTIALLY_PAID, Invoice.Status.PAID})


def _limit(invoice: Invoice, reason: str) -> int:
    """The most a note of ``reason`` may be for on ``invoice`` now."""
    if reason in CreditNote.RETURNS_PAYMENT:
        return max(0, -invoice.balance_due_minor)  # what was paid beyond what was due
    return invoice.total_minor - invoice.credited_minor - invoice.written_off_minor


@money_transaction
def credit_note_request(*, invoice: Invoice, reason: str, amount: Money, by: User, memo: str = "") -> CreditNote:
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status not in CREDITABLE:
        raise ValidationError(f"{invoice} is {invoice.get_status_display().lower()}; no credit note can be issued")
    if reason not in CreditNote.Reason.values:
        raise ValidationError(f"{reason!r} is not a credit note reason")
    limit = _limit(invoice, reason)
    if amount.currency != invoice.currency or not 0 < amount.minor <= limit:
        raise ValidationError(
            f"a {CreditNote.Reason(reason).label.lower()} credit note on {invoice} is at most "
            f"{Money(limit, invoice.currency).format()}"
        )
    note = CreditNote.objects.create(
        invoice=invoice,
        matter=invoice.matter,
        reason=reason,
        memo=memo,
        amount_minor=amount.minor,
        currency=invoice.currency,
        requested_by=by,
    )
    audit_record(
        AuditAction.CREDIT_NOTE_REQUEST,
        actor=by,
        target=note,
        data={"invoice": invoice.pk, "reason": reason, "amount_minor": amount.minor},
    )
    return note


def _postings(note: CreditNote, invoice: Invoice) -> tuple[list[Line], int]:
    currency = invoice.currency
    receivable = account_for(Kind.RECEIVABLE, matter=invoice.matter, currency=currency)
    credit = account_for(Kind.CLIENT_CREDIT, client=invoice.client, currency=currency)
    if note.reason in CreditNote.RETURNS_PAYMENT:
        return [Line.debit(receivable, note.amount), Line.credit(credit, note.amount)], note.amount_minor
    # Reduce revenue per billing code in proportion to the invoice's lines (integer split, remainder to the first).
    per_code: dict[str, int] = defaultdict(int)
    for line in invoice.lines.all():
        per_code[line.code] += line.amount_minor
    shares = {code: note.amount_minor * amount // invoice.total_minor for code, amount in sorted(per_code.items())}
    first = next(iter(shares))
    shares[first] += note.amount_minor - sum(shares.values())
    lines = [
        Line.debit(account_for(Kind.REVENUE, billing_code=code, currency=currency), Money(share, currency))
        for code, share in shares.items()
        if share
    ]
    against_due = min(note.amount_minor, max(0, invoice.balance_due_minor))
    to_credit = note.amount_minor - against_due
    if against_due:
        lines.append(Line.credit(receivable, Money(against_due, currency)))
    if to_credit:
        lines.append(Line.credit(credit, Money(to_credit, currency)))
    return lines, to_credit


@money_transaction
def credit_note_decide(*, note: CreditNote, approve: bool, by: User) -> CreditNote:
    """Approve (number, post, adjust the invoice) or reject a requested credit note."""
    note = CreditNote.objects.select_for_update().get(pk=note.pk)
    check_approver(approver=by, requester_id=note.requested_by_id)
    if note.status != CreditNote.Status.REQUESTED:
        raise ValidationError("this credit note was already decided")
    note.decided_by = by
    note.decided_at = timezone.now()
    if not approve:
        note.status = CreditNote.Status.REJECTED
        note.save()
        audit_record(AuditAction.CREDIT_NOTE_REJECT, actor=by, target=note, data={"invoice": note.invoice_id})
        return note
    invoice = Invoice.objects.select_for_update(of=("self",)).select_related("matter", "client").get(pk=note.invoice_id)
    if invoice.status not in CREDITABLE or note.amount_minor > _limit(invoice, note.reason):
        raise ValidationError(f"{invoice} no longer allows a credit note of this amount")
    lines, to_credit = _postings(note, invoice)
    note.number = next_number("credit_note")
    note.to_client_credit_minor = to_credit
    note.status = CreditNote.Status.APPROVED
    note.entry = journal_post(
        kind="credit_note.approve",
        lines=lines,
        memo=f"{note.display_number} on {invoice.display_number}: {note.get_reason_display()}",
        by=by,
        source=note,
    )
    note.save()
    if note.reason not in CreditNote.RETURNS_PAYMENT:
        invoice.credited_minor += note.amount_minor
    invoice.to_client_credit_minor += to_credit
    settle(invoice)
    invoice.save()
    audit_record(
        AuditAction.CREDIT_NOTE_APPROVE,
        actor=by,
        target=note,
        data={
            "number": note.number,
            "invoice": invoice.pk,
            "reason": note.reason,
            "amount_minor": note.amount_minor,
            "to_client_credit_minor": to_credit,
            "requested_by": note.requested_by_id,
        },
    )
    return note
