"""Trust money: deposits go to trust, outflows stop at the client's cleared funds, approvals, low balance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from billing.ledger.accounts import account_for
from billing.ledger.models import Account
from billing.ledger.selectors import balance
from billing.money import Money
from billing.trust.models import BillingTask, TrustRequest, TrustSettings
from billing.trust.requests import (
    trust_disbursement_request,
    trust_refund_request,
    trust_request_approve,
    trust_request_reject,
)
from billing.trust.services import InsufficientTrustFunds, trust_apply_to_invoice, trust_deposit, trust_deposit_clear
from core.audit.models import AuditEntry
from core.models import Matter, User
from tests.support.cast import Cast

Kind = Account.Kind


@dataclass
class FakeInvoice:
    """Stands in for 6b's Invoice: trust_apply_to_invoice needs only whose it is and the currency."""

    pk: int
    client: User
    matter: Matter
    currency: str = "USD"


def _carol_trust(books: Cast) -> Account:
    return account_for(Kind.CLIENT_TRUST, client=books.carol, matter=books.m1)


def _fund(books: Cast, amount: int, *, cleared: bool = True) -> None:
    trust_deposit(
        client=books.carol,
        matter=books.m1,
        amount=Money(amount, "USD"),
        method="wire",
        reference="W-1",
        by=books.bill,
        cleared_on=timezone.localdate() if cleared else None,
    )


def test_a_retainer_goes_to_trust_and_never_to_operating(books: Cast) -> None:
    _fund(books, 1500_00)

    assert balance(account_for(Kind.TRUST_BANK)) == Money(1500_00)
    assert balance(_carol_trust(books)) == Money(1500_00)
    assert balance(account_for(Kind.OPERATING_BANK)) == Money(0)
    assert AuditEntry.objects.filter(action="trust.deposit").count() == 1


def test_a_disbursement_over_cleared_funds_is_refused_even_when_the_pool_could_cover_it(books: Cast) -> None:
    _fund(books, 100_00)
    trust_deposit(client=books.dan, matter=books.m2, amount=Money(10_000_00), method="cash", by=books.bill)

    with pytest.raises(InsufficientTrustFunds):
        trust_disbursement_request(
            client=books.carol, matter=books.m1, amount=Money(100_01), payee="USCIS", purpose="I-130 fee", by=books.bill
        )
    assert balance(account_for(Kind.TRUST_BANK)) == Money(10_100_00)


def test_an_uncleared_check_cannot_be_disbursed_until_it_clears(books: Cast) -> None:
    deposit = trust_deposit(
        client=books.carol, matter=books.m1, amount=Money(500_00), method="check", reference="CHK 1001", by=books.bill
    )

    with pytest.raises(InsufficientTrustFunds):
        trust_disbursement_request(
            client=books.carol, matter=books.m1, amount=Money(1), payee="USCIS", purpose="fee", by=books.bill
        )
    trust_deposit_clear(deposit=deposit, cleared_on=timezone.localdate(), by=books.bill)
    request = trust_disbursement_request(
        client=books.carol, matter=books.m1, amount=Money(500_00), payee="USCIS", purpose="fee", by=books.bill
    )
    assert request.status == TrustRequest.Status.PENDING


def test_a_small_disbursement_is_paid_after_one_approval_by_someone_else(books: Cast) -> None:
    _fund(books, 1000_00)
    request = trust_disbursement_request(
        client=books.carol, matter=books.m1, amount=Money(535_00), payee="USCIS", purpose="I-130 fee", by=books.bill
    )

    trust_request_approve(request=request, by=books.paula)

    request.refresh_from_db()
    assert request.status == TrustRequest.Status.POSTED
    assert balance(_carol_trust(books)) == Money(465_00)
    assert balance(account_for(Kind.TRUST_BANK)) == Money(465_00)
    assert AuditEntry.objects.filter(action="trust.disbursement_approve").count() == 1
    assert AuditEntry.objects.filter(action="trust.disbursement_post").count() == 1


def test_above_the_threshold_two_distinct_approvers_neither_the_requester_are_needed(books: Cast) -> None:
    settings = TrustSettings.load()
    settings.two_approver_threshold_minor = 1000_00
    settings.save()
    _fund(books, 5000_00)
    request = trust_disbursement_request(
        client=books.carol, matter=books.m1, amount=Money(2000_00), payee="Expert", purpose="report", by=books.alice
    )

    with pytest.raises(PermissionDenied, match="cannot approve"):
        trust_request_approve(request=request, by=books.alice)
    trust_request_approve(request=request, by=books.paula)
    request.refresh_from_db()
    assert request.status == TrustRequest.Status.PENDING
    assert balance(_carol_trust(books)) == Money(5000_00)
    with pytest.raises(ValidationError, match="another approver"):
        trust_request_approve(request=request, by=books.paula)

    second = _second_approver(books)
    trust_request_approve(request=request, by=second)
    request.refresh_from_db()
    assert request.status == TrustRequest.Status.POSTED
    assert balance(_carol_trust(books)) == Money(3000_00)


def _second_approver(books: Cast) -> User:
    from core.roles import Role
    from core.services import user_create

    return user_create(email="pat@acme.test", role=Role.PARTNER, full_name="Pat")


def test_someone_without_the_approver_role_cannot_approve(books: Cast) -> None:
    _fund(books, 100_00)
    request = trust_disbursement_request(
        client=books.carol, matter=books.m1, amount=Money(10_00), payee="USCIS", purpose="fee", by=books.alice
    )

    for person in (books.bill, books.arthur, books.carol):
        with pytest.raises(PermissionDenied):
            trust_request_approve(request=request, by=person)


def test_a_refund_follows_the_same_approval_rule_and_leaves_trust(books: Cast) -> None:
    _fund(books, 300_00)
    refund = trust_refund_request(
        client=books.carol, matter=books.m1, amount=Money(300_00), purpose="matter closed", by=books.bill
    )

    with pytest.raises(PermissionDenied):
        trust_request_approve(request=refund, by=books.bill)
    trust_request_approve(request=refund, by=books.alice)

    refund.refresh_from_db()
    assert refund.kind == TrustRequest.Kind.REFUND
    assert refund.payee == "Carol"
    assert balance(_carol_trust(books)) == Money(0)


def test_funds_spent_while_a_request_waited_make_its_approval_fail(books: Cast) -> None:
    _fund(books, 100_00)
    first = trust_disbursement_request(
        client=books.carol, matter=books.m1, amount=Money(80_00), payee="A", purpose="a", by=books.bill
    )
    second = trust_disbursement_request(
        client=books.carol, matter=books.m1, amount=Money(80_00), payee="B", purpose="b", by=books.bill
    )
    trust_request_approve(request=first, by=books.alice)

    with pytest.raises(InsufficientTrustFunds):
        trust_request_approve(request=second, by=books.alice)
    second.refresh_from_db()
    assert second.status == TrustRequest.Status.PENDING
    assert balance(_carol_trust(books)) == Money(20_00)


def test_a_rejected_request_cannot_be_approved(books: Cast) -> None:
    _fund(books, 100_00)
    request = trust_disbursement_request(
        client=books.carol, matter=books.m1, amount=Money(10_00), payee="A", purpose="a", by=books.bill
    )
    trust_request_reject(request=request, by=books.paula, reason="wrong payee")

    with pytest.raises(ValidationError, match="already been decided"):
        trust_request_approve(request=request, by=books.alice)


def test_applying_trust_to_an_invoice_moves_earned_fees_to_operating_and_settles_the_receivable(books: Cast) -> None:
    _fund(books, 1000_00)
    invoice = FakeInvoice(pk=1, client=books.carol, matter=books.m1)

    trust_apply_to_invoice(invoice_like=invoice, amount=Money(400_00), by=books.bill)

    assert balance(_carol_trust(books)) == Money(600_00)
    assert balance(account_for(Kind.TRUST_BANK)) == Money(600_00)
    assert balance(account_for(Kind.OPERATING_BANK)) == Money(400_00)
    assert balance(account_for(Kind.RECEIVABLE, client=books.carol, matter=books.m1)) == Money(-400_00)
    with pytest.raises(InsufficientTrustFunds):
        trust_apply_to_invoice(invoice_like=invoice, amount=Money(600_01), by=books.bill)


def test_a_balance_below_the_low_threshold_opens_one_task_and_an_audit_entry(books: Cast) -> None:
    _fund(books, 600_00)
    invoice = FakeInvoice(pk=1, client=books.carol, matter=books.m1)

    trust_apply_to_invoice(invoice_like=invoice, amount=Money(100_00), by=books.bill)
    assert not BillingTask.objects.exists()
    trust_apply_to_invoice(invoice_like=invoice, amount=Money(100_00), by=books.bill)
    trust_apply_to_invoice(invoice_like=invoice, amount=Money(100_00), by=books.bill)

    task = BillingTask.objects.get()
    assert task.matter == books.m1
    assert "2025-0001" in task.message
    assert AuditEntry.objects.filter(action="trust.low_balance").count() == 1


def test_a_deposit_for_another_clients_matter_is_refused(books: Cast) -> None:
    with pytest.raises(ValidationError, match="another client"):
        trust_deposit(client=books.dan, matter=books.m1, amount=Money(1), method="cash", by=books.bill)


def test_a_deposit_received_yesterday_and_cleared_today_is_spendable(books: Cast) -> None:
    today = timezone.localdate()
    trust_deposit(
        client=books.carol,
        matter=books.m1,
        amount=Money(50_00),
        method="check",
        by=books.bill,
        received_on=today - timedelta(days=1),
        cleared_on=today,
    )
    request = trust_disbursement_request(
        client=books.carol, matter=books.m1, amount=Money(50_00), payee="A", purpose="a", by=books.bill
    )
    assert request.approvals_required == 1


def test_a_deposit_dated_tomorrow_is_refused_and_cannot_be_disbursed_today(books: Cast) -> None:
    """Issue 18 item 1: cleared funds are as of the disbursement date; money not yet received is not money."""
    tomorrow = timezone.localdate() + timedelta(days=1)

    with pytest.raises(ValidationError) as refused:
        trust_deposit(
            client=books.carol,
            matter=books.m1,
            amount=Money(900_00),
            method="wire",
            by=books.bill,
            received_on=tomorrow,
            cleared_on=tomorrow,
        )
    assert "received_on" in refused.value.message_dict
    assert balance(_carol_trust(books)) == Money(0)
    with pytest.raises(InsufficientTrustFunds):
        trust_disbursement_request(
            client=books.carol, matter=books.m1, amount=Money(900_00), payee="USCIS", purpose="fee", by=books.bill
        )


def test_lines_dated_after_the_disbursement_day_do_not_count_as_cleared_funds(books: Cast) -> None:
    """A future-dated trust line (e.g. one written before this rule) is not spendable today."""
    from billing.ledger.services import Line, journal_post

    tomorrow = timezone.localdate() + timedelta(days=1)
    journal_post(
        kind="trust.deposit",
        lines=[
            Line.debit(account_for(Kind.TRUST_BANK), Money(900_00)),
            Line.credit(_carol_trust(books), Money(900_00)),
        ],
        memo="wire dated tomorrow",
        by=books.bill,
        occurred_on=tomorrow,
    )
    _fund(books, 100_00)

    with pytest.raises(InsufficientTrustFunds):
        trust_disbursement_request(
            client=books.carol, matter=books.m1, amount=Money(100_01), payee="USCIS", purpose="fee", by=books.bill
        )
    trust_disbursement_request(
        client=books.carol, matter=books.m1, amount=Money(100_00), payee="USCIS", purpose="fee", by=books.bill
    )


def test_cash_is_not_cleared_before_it_is_received(books: Cast) -> None:
    today = timezone.localdate()
    with pytest.raises(ValidationError) as refused:
        trust_deposit(
            client=books.carol,
            matter=books.m1,
            amount=Money(50_00),
            method="check",
            by=books.bill,
            received_on=today,
            cleared_on=today - timedelta(days=3),
        )
    assert "cleared_on" in refused.value.message_dict
    deposit = trust_deposit(
        client=books.carol, matter=books.m1, amount=Money(50_00), method="check", by=books.bill, received_on=today
    )
    with pytest.raises(ValidationError) as early:
        trust_deposit_clear(deposit=deposit, cleared_on=today - timedelta(days=1), by=books.bill)
    assert "cleared_on" in early.value.message_dict
    with pytest.raises(ValidationError):
        trust_deposit_clear(deposit=deposit, cleared_on=today + timedelta(days=1), by=books.bill)
