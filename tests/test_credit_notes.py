"""Credit notes and write-offs: reason codes, approval by someone else, numbering, client credit."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from billing.credit_notes.models import CreditNote, CreditRefund
from billing.credit_notes.refunds import credit_refund_decide, credit_refund_request
from billing.credit_notes.services import credit_note_decide, credit_note_request
from billing.invoices.models import Invoice, WriteOff
from billing.invoices.services import client_credit_apply, client_credit_balance, payment_record
from billing.invoices.write_offs import write_off_decide, write_off_request
from billing.ledger.models import Account
from billing.ledger.selectors import unbalanced_entries
from billing.money import Money
from billing.trust.models import TrustSettings
from core.audit.models import AuditEntry
from tests.support.billing import firm_balance, issued, receivable
from tests.support.cast import Cast

Kind = Account.Kind


@pytest.fixture(autouse=True)
def _no_trust_policy(books: Cast) -> None:
    TrustSettings.objects.update_or_create(id=1, defaults={"apply_trust_to_invoices": False})


def test_the_requester_cannot_approve_their_own_credit_note(books: Cast) -> None:
    invoice = issued(books.m1, books.paula, "PET-FLAT")
    note = credit_note_request(invoice=invoice, reason="goodwill", amount=Money(100_00), by=books.paula)

    with pytest.raises(PermissionDenied, match="other than the requester"):
        credit_note_decide(note=note, approve=True, by=books.paula)
    note.refresh_from_db()
    assert note.status == CreditNote.Status.REQUESTED
    assert note.number is None


def test_a_billing_clerk_may_request_but_not_approve(books: Cast) -> None:
    invoice = issued(books.m1, books.paula, "PET-FLAT")
    note = credit_note_request(invoice=invoice, reason="scope_change", amount=Money(100_00), by=books.paula)

    with pytest.raises(PermissionDenied, match="does not approve"):
        credit_note_decide(note=note, approve=True, by=books.bill)


def test_an_approved_scope_change_reduces_revenue_and_what_is_due(books: Cast) -> None:
    invoice = issued(books.m1, books.paula, "PET-FLAT", "USCIS-FEE")  # 2,500.00 + 675.00
    note = credit_note_request(invoice=invoice, reason="scope_change", amount=Money(500_00), by=books.bill)

    note = credit_note_decide(note=note, approve=True, by=books.paula)
    invoice.refresh_from_db()

    assert note.status == CreditNote.Status.APPROVED
    assert note.display_number == "CN-000001"
    assert note.matter == books.m1
    assert note.invoice == invoice
    assert invoice.balance_due == Money(2_675_00)
    assert receivable(books.m1) == Money(2_675_00)
    revenue = firm_balance(Kind.REVENUE, billing_code="PET-FLAT") + firm_balance(Kind.REVENUE, billing_code="USCIS-FEE")
    assert revenue == Money(2_675_00)
    assert unbalanced_entries() == []
    assert AuditEntry.objects.filter(action="credit_note.approve", actor_email="paula@acme.test").exists()


def test_credit_notes_are_numbered_apart_from_invoices_and_only_on_approval(books: Cast) -> None:
    first = issued(books.m1, books.paula, "PET-FLAT")
    second = issued(books.m1, books.paula, "PET-FLAT")
    rejected = credit_note_request(invoice=first, reason="goodwill", amount=Money(1_00), by=books.bill)
    credit_note_decide(note=rejected, approve=False, by=books.paula)
    approved = credit_note_request(invoice=second, reason="goodwill", amount=Money(1_00), by=books.bill)

    approved = credit_note_decide(note=approved, approve=True, by=books.alice)
    rejected.refresh_from_db()

    assert (first.number, second.number) == (1, 2)
    assert approved.number == 1
    assert rejected.number is None
    assert rejected.status == CreditNote.Status.REJECTED


def test_a_credit_note_cannot_exceed_what_was_billed(books: Cast) -> None:
    invoice = issued(books.m1, books.paula, "CONS-FLAT")  # 150.00
    with pytest.raises(ValidationError, match=r"at most \$150.00"):
        credit_note_request(invoice=invoice, reason="goodwill", amount=Money(150_01), by=books.bill)


def test_a_duplicate_payment_becomes_client_credit_applied_to_the_next_invoice(books: Cast) -> None:
    invoice = issued(books.m1, books.paula, "CONS-FLAT")  # 150.00
    payment_record(invoice=invoice, method="check", amount=Money(150_00), reference="chk 1", by=books.bill)
    payment_record(invoice=invoice, method="check", amount=Money(150_00), reference="chk 1 again", by=books.bill)
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert invoice.balance_due == Money(-150_00)

    with pytest.raises(ValidationError, match=r"at most \$150.00"):
        credit_note_request(invoice=invoice, reason="duplicate_payment", amount=Money(200_00), by=books.bill)
    note = credit_note_request(invoice=invoice, reason="duplicate_payment", amount=Money(150_00), by=books.bill)
    credit_note_decide(note=note, approve=True, by=books.paula)
    invoice.refresh_from_db()

    assert invoice.balance_due == Money(0)
    assert client_credit_balance(client=books.carol, currency="USD") == Money(150_00)

    later = issued(books.m1, books.paula, "PET-FLAT")
    payment = client_credit_apply(invoice=later, by=books.bill)
    later.refresh_from_db()

    assert payment is not None
    assert payment.amount == Money(150_00)
    assert later.balance_due == Money(2_350_00)
    assert later.status == Invoice.Status.PARTIALLY_PAID
    assert client_credit_balance(client=books.carol, currency="USD") == Money(0)
    assert unbalanced_entries() == []


def test_goodwill_on_a_paid_invoice_is_kept_as_client_credit(books: Cast) -> None:
    invoice = issued(books.m1, books.paula, "CONS-FLAT")
    payment_record(invoice=invoice, method="cash", amount=Money(150_00), by=books.bill)
    note = credit_note_request(invoice=invoice, reason="goodwill", amount=Money(50_00), by=books.bill)

    note = credit_note_decide(note=note, approve=True, by=books.paula)
    invoice.refresh_from_db()

    assert note.to_client_credit_minor == 50_00
    assert invoice.status == Invoice.Status.PAID
    assert client_credit_balance(client=books.carol, currency="USD") == Money(50_00)
    assert firm_balance(Kind.REVENUE, billing_code="CONS-FLAT") == Money(100_00)


def test_an_approved_write_off_of_the_rest_leaves_the_invoice_written_off(books: Cast) -> None:
    invoice = issued(books.m1, books.paula, "PET-FLAT")
    payment_record(invoice=invoice, method="wire", amount=Money(2_000_00), by=books.bill)
    write_off = write_off_request(invoice=invoice, amount=Money(500_00), reason="client hardship", by=books.bill)

    with pytest.raises(PermissionDenied):
        write_off_decide(write_off=write_off, approve=True, by=books.bill)
    write_off = write_off_decide(write_off=write_off, approve=True, by=books.paula)
    invoice.refresh_from_db()

    assert write_off.status == WriteOff.Status.APPROVED
    assert invoice.status == Invoice.Status.WRITTEN_OFF
    assert invoice.balance_due == Money(0)
    assert firm_balance(Kind.WRITE_OFFS) == Money(500_00)
    assert receivable(books.m1) == Money(0)
    assert AuditEntry.objects.filter(action="write_off.approve", actor_email="paula@acme.test").exists()


def test_a_write_off_larger_than_the_balance_due_is_refused(books: Cast) -> None:
    invoice = issued(books.m1, books.paula, "CONS-FLAT")
    with pytest.raises(ValidationError, match="balance due"):
        write_off_request(invoice=invoice, amount=Money(150_01), reason="too much", by=books.bill)


def test_client_credit_is_refunded_from_operating_once_someone_else_approves(books: Cast) -> None:
    invoice = issued(books.m1, books.paula, "CONS-FLAT")
    payment_record(invoice=invoice, method="check", amount=Money(200_00), by=books.bill)  # 50.00 too much
    note = credit_note_request(invoice=invoice, reason="overpayment", amount=Money(50_00), by=books.bill)
    credit_note_decide(note=note, approve=True, by=books.paula)

    with pytest.raises(ValidationError, match=r"credit is \$50.00"):
        credit_refund_request(client=books.carol, amount=Money(50_01), method="check", reason="x", by=books.bill)
    refund = credit_refund_request(
        client=books.carol, amount=Money(50_00), method="check", reason="overpaid", by=books.bill
    )
    with pytest.raises(PermissionDenied):
        credit_refund_decide(refund=refund, approve=True, by=books.bill)
    refund = credit_refund_decide(refund=refund, approve=True, by=books.alice)

    assert refund.status == CreditRefund.Status.APPROVED
    assert client_credit_balance(client=books.carol, currency="USD") == Money(0)
    assert firm_balance(Kind.OPERATING_BANK) == Money(150_00)
    assert firm_balance(Kind.TRUST_BANK) == Money(0)
    assert unbalanced_entries() == []
