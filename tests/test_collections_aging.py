"""Aging of receivables (issue 13 item 1): buckets, groupings, totals equal to the ledger's receivables to the cent.

The randomized history (Hypothesis) issues invoices on past days, pays them in
part, in full or beyond, credits, writes off and voids them through the real
services; after it, on several days, every grouping's totals equal the receivable
accounts' balance in the ledger on that day, and each invoice's balance today is
the invoice's own balance due.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.collections.aging import BUCKETS, aged_invoices, aging_report, bucket_of
from billing.credit_notes.services import credit_note_decide, credit_note_request
from billing.fees.models import FeeTemplate
from billing.invoices.models import Invoice
from billing.invoices.services import invoice_add_fee, invoice_create, invoice_issue, invoice_void, payment_record
from billing.invoices.write_offs import write_off_decide, write_off_request
from billing.ledger.models import Account
from billing.ledger.selectors import kind_total
from billing.money import Money
from core.models import Matter, User
from tests.support.cast import Cast

RECEIVABLE = Account.Kind.RECEIVABLE


def _issue(matter: Matter, by: User, *, days_ago: int, quantity: int = 1) -> Invoice:
    invoice = invoice_create(matter=matter, by=by)
    invoice_add_fee(invoice=invoice, template=FeeTemplate.objects.get(code="PET-FLAT"), quantity=quantity)
    return invoice_issue(invoice=invoice, by=by, issued_on=timezone.localdate() - timedelta(days=days_ago))


def _check_against_ledger(as_of: date) -> None:
    ledger = kind_total(RECEIVABLE, currency="USD", as_of=as_of)
    for by in ("client", "matter", "attorney"):
        report = aging_report(as_of=as_of, currency="USD", by=by)
        assert report.totals.total == ledger, (by, as_of)
        assert sum(row.total_minor for row in report.rows) == ledger.minor
        for bucket in BUCKETS:
            assert sum(row.minor[bucket] for row in report.rows) == report.totals.minor[bucket]


def test_buckets_are_days_past_the_due_date() -> None:
    assert [bucket_of(days) for days in (-5, 0, 1, 30, 31, 60, 61, 90, 91, 400)] == [
        "current",
        "current",
        "1-30",
        "1-30",
        "31-60",
        "31-60",
        "61-90",
        "61-90",
        "90+",
        "90+",
    ]


def test_aging_buckets_group_by_client_matter_and_attorney(books: Cast) -> None:
    today = timezone.localdate()
    fresh = _issue(books.m1, books.alice, days_ago=10)  # due in 20 days: current
    late = _issue(books.m1, books.alice, days_ago=75)  # 45 days past due
    older = _issue(books.m2, books.alice, days_ago=140, quantity=2)  # 110 days past due
    payment_record(invoice=late, method="check", amount=Money(1_000_00), by=books.bill, received_on=today)

    by_client = aging_report(as_of=today, currency="USD", by="client")
    rows = {row.label: row for row in by_client.rows}
    assert rows["Carol"].minor == {"current": 2_500_00, "1-30": 0, "31-60": 1_500_00, "61-90": 0, "90+": 0}
    assert rows["Dan"].minor == {"current": 0, "1-30": 0, "31-60": 0, "61-90": 0, "90+": 5_000_00}
    assert by_client.totals.total == Money(9_000_00) == kind_total(RECEIVABLE, currency="USD", as_of=today)

    by_attorney = {row.label: row for row in aging_report(as_of=today, currency="USD", by="attorney").rows}
    assert by_attorney["Arthur"].total == Money(4_000_00)
    assert by_attorney["No responsible attorney"].total == Money(5_000_00)  # M2 has none

    by_matter = {row.key: row for row in aging_report(as_of=today, currency="USD", by="matter").rows}
    assert by_matter[books.m1.pk].invoices == 2
    assert by_matter[books.m2.pk].invoices == 1

    # As of 50 days ago: the fresh invoice did not exist, the late one was current and unpaid.
    earlier = today - timedelta(days=50)
    past = {row.label: row for row in aging_report(as_of=earlier, currency="USD", by="client").rows}
    assert past["Carol"].minor["current"] == 2_500_00
    assert past["Carol"].total == Money(2_500_00)
    assert past["Dan"].minor["31-60"] == 5_000_00  # 110 - 50 = 60 days past due that day
    _check_against_ledger(earlier)

    behind = aged_invoices(as_of=today, currency="USD", bucket="31-60", client=books.carol)
    assert [(item.invoice.pk, item.balance, item.days_past_due) for item in behind] == [(late.pk, Money(1_500_00), 45)]
    assert [item.invoice.pk for item in aged_invoices(as_of=today, currency="USD", unassigned=True)] == [older.pk]
    assert {item.invoice.pk for item in aged_invoices(as_of=today, currency="USD", attorney=books.arthur)} == {
        fresh.pk,
        late.pk,
    }


def test_paid_credited_written_off_and_void_invoices_leave_the_aging(books: Cast) -> None:
    today = timezone.localdate()
    paid = _issue(books.m1, books.alice, days_ago=40)
    payment_record(invoice=paid, method="wire", amount=paid.total, by=books.bill, received_on=today)
    voided = _issue(books.m2, books.alice, days_ago=5)
    invoice_void(invoice=voided, by=books.alice, reason="wrong matter")
    written = _issue(books.m3, books.alice, days_ago=100)
    write_off_decide(
        write_off=write_off_request(invoice=written, amount=written.total, reason="uncollectable", by=books.bill),
        approve=True,
        by=books.paula,
    )
    credited = _issue(books.lucia_matter, books.alice, days_ago=35)
    note = credit_note_request(invoice=credited, reason="goodwill", amount=Money(500_00), by=books.bill)
    credit_note_decide(note=note, approve=True, by=books.paula)

    report = aging_report(as_of=today, currency="USD", by="client")
    assert [(row.label, row.total) for row in report.rows] == [("Lucía Gómez", Money(2_000_00))]
    assert report.totals.minor["1-30"] == 2_000_00
    _check_against_ledger(today)
    # Yesterday the paid invoice was still owed, and Dan's two were not yet void or written off (all dated today).
    yesterday = {row.label: row.total for row in aging_report(as_of=today - timedelta(days=1), currency="USD").rows}
    assert yesterday["Carol"] == Money(2_500_00)
    assert yesterday["Dan"] == Money(5_000_00)


def test_an_overpaid_invoice_counts_negative_as_the_ledger_does(books: Cast) -> None:
    today = timezone.localdate()
    invoice = _issue(books.m1, books.alice, days_ago=3)
    payment_record(invoice=invoice, method="check", amount=Money(2_600_00), by=books.bill, received_on=today)

    report = aging_report(as_of=today, currency="USD")
    assert report.totals.total == Money(-100_00) == kind_total(RECEIVABLE, currency="USD", as_of=today)


# --- A randomized history -------------------------------------------------------------------------

STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("issue"), st.integers(0, 4), st.integers(0, 200), st.integers(1, 3)),
        st.tuples(st.just("pay"), st.integers(0, 20), st.integers(1, 130), st.integers(0, 200)),
        st.tuples(st.just("credit"), st.integers(0, 20), st.integers(1, 100), st.just(0)),
        st.tuples(st.just("write_off"), st.integers(0, 20), st.integers(1, 100), st.just(0)),
        st.tuples(st.just("void"), st.integers(0, 20), st.just(0), st.just(0)),
    ),
    min_size=1,
    max_size=10,
)


def _apply(books: Cast, invoices: list[Invoice], step: tuple[str, int, int, int]) -> None:
    today = timezone.localdate()
    action, which, amount, extra = step
    if action == "issue":
        matters = [books.m1, books.m2, books.m3, books.lucia_matter, books.dora_matter]
        invoices.append(_issue(matters[which], books.alice, days_ago=amount, quantity=extra))
        return
    if not invoices:
        return
    invoice = Invoice.objects.get(pk=invoices[which % len(invoices)].pk)
    due = max(invoice.balance_due_minor, 1)
    try:
        with transaction.atomic():
            if action == "pay":
                on = max(invoice.issued_on or today, today - timedelta(days=extra))
                payment_record(
                    invoice=invoice,
                    method="check",
                    amount=Money(due * amount // 100 or 1),
                    by=books.bill,
                    received_on=on,
                )
            elif action == "credit":
                note = credit_note_request(
                    invoice=invoice, reason="scope_change", amount=Money(due * amount // 100 or 1), by=books.bill
                )
                credit_note_decide(note=note, approve=True, by=books.paula)
            elif action == "write_off":
                request = write_off_request(
                    invoice=invoice, amount=Money(due * amount // 100 or 1), reason="r", by=books.bill
                )
                write_off_decide(write_off=request, approve=True, by=books.paula)
            else:
                invoice_void(invoice=invoice, by=books.alice, reason="mistake")
    except ValidationError:
        pass  # a step the invoice's state refuses (paying a void invoice, crediting past the total): nothing posted


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=STEPS, days_back=st.lists(st.integers(0, 220), min_size=1, max_size=3))
def test_aging_equals_the_ledgers_receivables_after_any_history(
    books: Cast, steps: list[tuple[str, int, int, int]], days_back: list[int]
) -> None:
    with transaction.atomic():
        invoices: list[Invoice] = []
        for step in steps:
            _apply(books, invoices, step)
        today = timezone.localdate()
        for back in [0, *days_back]:
            _check_against_ledger(today - timedelta(days=back))
        owed = {item.invoice.pk: item.balance.minor for item in aged_invoices(as_of=today, currency="USD")}
        for invoice in Invoice.objects.filter(pk__in=[i.pk for i in invoices]):
            expected = 0 if invoice.status == Invoice.Status.VOID else invoice.balance_due_minor
            assert owed.get(invoice.pk, 0) == expected, invoice
        transaction.set_rollback(True)
