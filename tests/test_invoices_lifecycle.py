"""Invoices from draft to paid: numbering at issue, postings, payments, void, trust applied by firm policy."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError

from billing.fees.services import time_entry_record
from billing.invoices.models import Invoice, Payment
from billing.invoices.services import (
    invoice_add_fee,
    invoice_add_time,
    invoice_issue,
    invoice_void,
    payment_record,
    time_amount_minor,
)
from billing.invoices.states import InvalidTransition
from billing.ledger.models import Account, JournalEntry
from billing.ledger.selectors import unbalanced_entries
from billing.money import Money
from billing.trust.models import TrustSettings
from billing.trust.services import trust_deposit
from core.audit.models import AuditEntry
from tests.support.billing import draft, firm_balance, issued, receivable, template
from tests.support.cast import Cast

Kind = Account.Kind


@pytest.fixture(autouse=True)
def _no_trust_policy(books: Cast) -> None:
    """Most tests pay by hand; the trust policy is switched on where it is the subject."""
    TrustSettings.objects.update_or_create(id=1, defaults={"apply_trust_to_invoices": False})


def test_every_firm_starts_with_fee_templates_for_each_service(books: Cast) -> None:
    from billing.fees.models import FeeTemplate

    services = set(FeeTemplate.objects.values_list("service", flat=True))
    assert services == {"consultation", "petition_filing", "rfe_response", "appeal"}
    assert template("USCIS-FEE").kind == "disbursement"
    assert template("CONS-HOUR").kind == "hourly"


def test_a_draft_has_no_number_until_it_is_issued(books: Cast) -> None:
    invoice = draft(books.m1, books.bill, "PET-FLAT", "USCIS-FEE")
    assert invoice.number is None
    assert invoice.total == Money(3_175_00)

    invoice = invoice_issue(invoice=invoice, by=books.paula)

    assert invoice.status == Invoice.Status.ISSUED
    assert invoice.number == 1
    assert invoice.display_number == "INV-000001"
    assert invoice.issued_on is not None
    assert invoice.due_on == invoice.issued_on + timedelta(days=30)


def test_issuing_posts_the_receivable_and_revenue_per_billing_code(books: Cast) -> None:
    issued(books.m1, books.paula, "PET-FLAT", "USCIS-FEE")

    assert receivable(books.m1) == Money(3_175_00)
    assert firm_balance(Kind.REVENUE, billing_code="PET-FLAT") == Money(2_500_00)
    assert firm_balance(Kind.REVENUE, billing_code="USCIS-FEE") == Money(675_00)
    assert JournalEntry.objects.filter(kind="invoice.issue").count() == 1
    assert unbalanced_entries() == []


def test_an_empty_draft_cannot_be_issued(books: Cast) -> None:
    with pytest.raises(ValidationError, match="at least one line"):
        invoice_issue(invoice=draft(books.m1, books.paula), by=books.paula)


def test_hourly_time_is_minutes_times_rate_rounded_half_up_per_entry(books: Cast) -> None:
    # 50 minutes at $250.00/h = $208.333… → $208.33; 7 minutes = $29.1666… → $29.17
    for minutes in (50, 7):
        time_entry_record(
            matter=books.m1,
            timekeeper=books.arthur,
            worked_on=date(2026, 3, 2),
            minutes=minutes,
            description="Consultation call",
            template=template("CONS-HOUR"),
            by=books.arthur,
        )
    invoice = draft(books.m1, books.bill)

    lines = invoice_add_time(invoice=invoice)
    invoice.refresh_from_db()

    assert [line.amount_minor for line in lines] == [208_33, 29_17]
    assert invoice.total_minor == 237_50
    assert time_amount_minor(minutes=1, rate_minor=30) == 1  # 0.5 cent rounds up
    assert invoice_add_time(invoice=invoice) == []  # time is billed once


def test_a_part_payment_then_the_rest_moves_the_invoice_to_partially_paid_then_paid(books: Cast) -> None:
    invoice = issued(books.m1, books.paula, "PET-FLAT")

    invoice_payment = payment_record(
        invoice=invoice, method="check", amount=Money(1_000_00), reference="chk 1001", by=books.bill
    )
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PARTIALLY_PAID
    assert invoice.balance_due == Money(1_500_00)

    payment_record(invoice=invoice, method="wire", amount=Money(1_500_00), by=books.bill)
    invoice.refresh_from_db()

    assert invoice.status == Invoice.Status.PAID
    assert invoice.balance_due == Money(0)
    assert firm_balance(Kind.OPERATING_BANK) == Money(2_500_00)
    assert firm_balance(Kind.TRUST_BANK) == Money(0)  # an invoice payment never lands in trust
    assert receivable(books.m1) == Money(0)
    assert invoice_payment.entry is not None


def test_a_draft_takes_no_payment_and_a_card_payment_is_recorded_by_hand(books: Cast) -> None:
    invoice = draft(books.m1, books.bill, "CONS-FLAT")
    with pytest.raises(ValidationError, match="takes no payment"):
        payment_record(invoice=invoice, method="cash", amount=Money(10_00), by=books.bill)

    invoice = invoice_issue(invoice=invoice, by=books.paula)
    payment = payment_record(invoice=invoice, method="card", amount=Money(150_00), by=books.bill)

    assert payment.get_method_display() == "Card (recorded by hand)"


def test_voiding_an_issued_invoice_reverses_its_entry_and_keeps_its_number(books: Cast) -> None:
    invoice = issued(books.m1, books.paula, "PET-FLAT")

    invoice = invoice_void(invoice=invoice, by=books.paula, reason="wrong matter")

    assert invoice.status == Invoice.Status.VOID
    assert invoice.number == 1
    assert receivable(books.m1) == Money(0)
    assert firm_balance(Kind.REVENUE, billing_code="PET-FLAT") == Money(0)
    assert JournalEntry.objects.filter(reverses=invoice.issue_entry).exists()
    assert issued(books.m1, books.paula, "PET-FLAT").number == 2  # the void one's number is not reused


def test_an_invoice_with_a_payment_cannot_be_voided_and_void_is_final(books: Cast) -> None:
    invoice = issued(books.m1, books.paula, "PET-FLAT")
    payment_record(invoice=invoice, method="cash", amount=Money(100_00), by=books.bill)

    with pytest.raises(InvalidTransition, match="partially paid to void"):
        invoice_void(invoice=invoice, by=books.paula, reason="changed mind")

    voided = invoice_void(invoice=draft(books.m1, books.bill, "CONS-FLAT"), by=books.paula, reason="duplicate")
    with pytest.raises(ValidationError, match="only a draft can change"):
        invoice_add_fee(invoice=voided, template=template("CONS-FLAT"))
    with pytest.raises(ValidationError, match="is void; only a draft"):
        invoice_issue(invoice=voided, by=books.paula)


def test_issuing_pays_from_cleared_trust_funds_when_the_firm_applies_trust(books: Cast) -> None:
    TrustSettings.objects.filter(id=1).update(apply_trust_to_invoices=True)
    trust_deposit(client=books.carol, matter=books.m1, amount=Money(1_000_00), method="cash", by=books.bill)

    invoice = issued(books.m1, books.paula, "PET-FLAT")
    invoice.refresh_from_db()

    assert invoice.status == Invoice.Status.PARTIALLY_PAID
    assert invoice.balance_due == Money(1_500_00)
    [payment] = invoice.payments.all()
    assert payment.method == Payment.Method.TRUST
    assert firm_balance(Kind.CLIENT_TRUST, client=books.carol, matter=books.m1) == Money(0)
    assert firm_balance(Kind.OPERATING_BANK) == Money(1_000_00)
    assert unbalanced_entries() == []


def test_uncleared_trust_funds_are_not_applied_to_an_invoice(books: Cast) -> None:
    TrustSettings.objects.filter(id=1).update(apply_trust_to_invoices=True)
    trust_deposit(client=books.carol, matter=books.m1, amount=Money(5_000_00), method="check", by=books.bill)

    invoice = issued(books.m1, books.paula, "PET-FLAT")
    invoice.refresh_from_db()

    assert invoice.status == Invoice.Status.ISSUED
    assert not invoice.payments.exists()


def test_issue_void_and_payments_are_audited(books: Cast) -> None:
    invoice = issued(books.m1, books.paula, "PET-FLAT")
    payment_record(invoice=invoice, method="check", amount=Money(1_00), by=books.bill)

    actions = list(
        AuditEntry.objects.filter(target_id=str(invoice.pk), action__startswith="invoice.").values_list(
            "action", "actor_email"
        )
    )
    assert ("invoice.issue", "paula@acme.test") in actions
    assert ("invoice.payment", "bill@acme.test") in actions
