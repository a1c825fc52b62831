"""Bank statement import (CSV mapping, OFX), matching to the trust-bank ledger, the three-way reconciliation."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from billing.money import Money
from billing.reconciliation.models import BankStatement, StatementLine
from billing.reconciliation.selectors import three_way
from billing.reconciliation.services import (
    statement_auto_match,
    statement_import_csv,
    statement_import_ofx,
    statement_match,
)
from billing.reconciliation.statements import CsvMapping, StatementError, parse_csv, to_minor
from billing.trust.requests import trust_disbursement_request, trust_request_approve
from billing.trust.services import trust_deposit
from core.audit.models import AuditEntry
from tests.support.cast import Cast

OFX = Path(__file__).parent / "statements" / "trust_january.ofx"
DEBIT_CREDIT = CsvMapping(
    date="Booking date",
    amount=None,
    debit="Money out",
    credit="Money in",
    description="Details",
    reference="Ref",
    balance="Balance",
    date_format="%d/%m/%Y",
)


def _month_of_activity(books: Cast) -> date:
    """Carol wires 1,500.00 (cleared), Dan's 200.00 check is still in transit, USCIS is paid 535.00."""
    today = timezone.localdate()
    trust_deposit(
        client=books.carol,
        matter=books.m1,
        amount=Money(1500_00),
        method="wire",
        reference="W-1",
        by=books.bill,
        cleared_on=today,
    )
    trust_deposit(
        client=books.dan, matter=books.m2, amount=Money(200_00), method="check", reference="CHK-7", by=books.bill
    )
    request = trust_disbursement_request(
        client=books.carol, matter=books.m1, amount=Money(535_00), payee="USCIS", purpose="I-130 fee", by=books.bill
    )
    trust_request_approve(request=request, by=books.paula)
    return today


def _csv(today: date, *, with_fee: bool) -> str:
    day = today.strftime("%d/%m/%Y")
    rows = [
        "Booking date,Details,Ref,Money out,Money in,Balance",
        f'{day},WIRE IN DIAZ,W-1,,"1,500.00","1,500.00"',
        f"{day},USCIS,2001,535.00,,965.00",
    ]
    if with_fee:
        rows.append(f"{day},SERVICE FEE,,12.00,,953.00")
    return "\n".join(rows) + "\n"


def test_amounts_become_minor_units_without_floats() -> None:
    assert to_minor("1,234.56", "USD") == 123456
    assert to_minor("(12.00)", "USD") == -1200
    assert to_minor("1.234,5", "EUR", decimal_comma=True) == 123450
    assert to_minor("1500", "JPY") == 1500
    with pytest.raises(StatementError, match="more decimals"):
        to_minor("1.005", "USD")


def test_a_signed_amount_csv_is_read_with_the_default_mapping() -> None:
    parsed = parse_csv(
        "date,amount,description,reference\n2026-01-05,1500.00,wire,W-1\n2026-01-06,-35.50,fee,\n",
        mapping=CsvMapping(),
        currency="USD",
    )

    assert [(line.posted_on, line.amount_minor) for line in parsed.lines] == [
        (date(2026, 1, 5), 1500_00),
        (date(2026, 1, 6), -35_50),
    ]


def test_a_csv_missing_a_mapped_column_is_refused_with_the_columns_it_has() -> None:
    with pytest.raises(StatementError, match="no column"):
        parse_csv("when,amount\n2026-01-05,1\n", mapping=CsvMapping(), currency="USD")


def test_the_three_way_report_balances_once_the_statement_is_matched(books: Cast) -> None:
    today = _month_of_activity(books)
    statement = statement_import_csv(
        data=_csv(today, with_fee=False), mapping=DEBIT_CREDIT, currency="USD", by=books.bill, filename="jan.csv"
    )

    assert statement_auto_match(statement=statement, by=books.bill) == 2
    report = three_way(period_end=today, currency="USD")

    assert report.statement_balance.minor == 965_00
    assert report.deposits_in_transit.minor == 200_00
    assert report.outstanding_withdrawals.minor == 0
    assert report.adjusted_bank.minor == report.book_balance.minor == report.client_ledgers.minor == 1165_00
    assert report.balanced
    assert [(row.client, row.balance.minor) for row in report.clients] == [
        ("carol@acme.test", 965_00),
        ("dan@acme.test", 200_00),
    ]
    assert AuditEntry.objects.filter(action="reconciliation.import").count() == 1


def test_a_bank_item_missing_from_the_books_is_a_discrepancy_and_unbalances_the_report(books: Cast) -> None:
    today = _month_of_activity(books)
    statement = statement_import_csv(
        data=_csv(today, with_fee=True), mapping=DEBIT_CREDIT, currency="USD", by=books.bill
    )
    statement_auto_match(statement=statement, by=books.bill)

    report = three_way(period_end=today, currency="USD")

    assert not report.balanced
    assert report.adjusted_bank.minor == 1153_00
    assert report.book_balance.minor == report.client_ledgers.minor == 1165_00
    assert [(line.description, line.amount_minor) for line in report.discrepancies] == [("SERVICE FEE", -12_00)]


def test_unmatched_ledger_withdrawals_are_outstanding_items(books: Cast) -> None:
    today = _month_of_activity(books)
    only_the_wire = "\n".join(_csv(today, with_fee=False).splitlines()[:2]) + "\n"
    statement = statement_import_csv(data=only_the_wire, mapping=DEBIT_CREDIT, currency="USD", by=books.bill)
    statement_auto_match(statement=statement, by=books.bill)

    report = three_way(period_end=today, currency="USD")

    assert report.statement_balance.minor == 1500_00
    assert report.outstanding_withdrawals.minor == 535_00
    assert report.balanced


def test_two_equally_good_candidates_are_left_for_manual_matching(books: Cast) -> None:
    today = timezone.localdate()
    for _ in range(2):
        trust_deposit(client=books.carol, matter=books.m1, amount=Money(100_00), method="cash", by=books.bill)
    day = today.isoformat()
    statement = statement_import_csv(
        data=f"date,amount,description,reference\n{day},100.00,cash,\n",
        mapping=CsvMapping(),
        currency="USD",
        by=books.bill,
        closing_balance=Money(100_00),
    )

    assert statement_auto_match(statement=statement, by=books.bill) == 0
    line = statement.lines.get()
    ledger_line = statement.account.lines.order_by("id").first()
    assert ledger_line is not None
    statement_match(statement_line=line, journal_line=ledger_line, by=books.bill)
    line.refresh_from_db()
    assert line.matched_how == StatementLine.MatchedHow.MANUAL
    assert AuditEntry.objects.filter(action="reconciliation.match").count() == 1


def test_a_manual_match_with_a_different_amount_is_refused(books: Cast) -> None:
    trust_deposit(client=books.carol, matter=books.m1, amount=Money(100_00), method="cash", by=books.bill)
    statement = statement_import_csv(
        data=f"date,amount,description,reference\n{timezone.localdate().isoformat()},99.00,cash,\n",
        mapping=CsvMapping(),
        currency="USD",
        by=books.bill,
        closing_balance=Money(99_00),
    )
    ledger_line = statement.account.lines.get()

    with pytest.raises(ValidationError, match="amounts differ"):
        statement_match(statement_line=statement.lines.get(), journal_line=ledger_line, by=books.bill)


def test_an_ofx_statement_is_imported_and_matched_by_reference_within_the_date_window(books: Cast) -> None:
    trust_deposit(
        client=books.carol,
        matter=books.m1,
        amount=Money(1500_00),
        method="wire",
        reference="W-1",
        by=books.bill,
        received_on=date(2026, 1, 4),
        cleared_on=date(2026, 1, 4),
    )

    statement = statement_import_ofx(data=OFX.read_bytes(), by=books.bill, filename="jan.ofx")

    assert (statement.period_start, statement.period_end) == (date(2026, 1, 1), date(2026, 1, 31))
    assert statement.closing_balance_minor == 953_00
    assert BankStatement.objects.get(pk=statement.pk).bank_account_number == "000123456789"
    with connection.cursor() as cursor:
        cursor.execute("SELECT bank_account_number FROM billing_bankstatement WHERE id = %s", [statement.pk])
        stored = cursor.fetchone()[0]
    assert b"000123456789" not in bytes(stored)  # encrypted at rest under the firm's retention key
    assert statement_auto_match(statement=statement, by=books.bill) == 1
    wire = statement.lines.get(bank_id="F-1")
    assert wire.matched_line is not None
    assert wire.matched_how == StatementLine.MatchedHow.AUTO
    report = three_way(period_end=date(2026, 1, 31), currency="USD")
    assert {line.bank_id for line in report.discrepancies} == {"F-2", "F-3"}


def test_a_statement_outside_the_date_window_is_not_matched(books: Cast) -> None:
    trust_deposit(
        client=books.carol,
        matter=books.m1,
        amount=Money(1500_00),
        method="wire",
        by=books.bill,
        received_on=date(2025, 12, 20),
        cleared_on=date(2025, 12, 20),
    )
    statement = statement_import_ofx(data=OFX.read_bytes(), by=books.bill)

    assert statement_auto_match(statement=statement, by=books.bill, window_days=3) == 0
