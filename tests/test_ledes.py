"""LEDES 1998B: the format line, the 24-field header, one pipe-delimited line per invoice line ending in []."""

from __future__ import annotations

from datetime import date

import pytest

from billing.exports.ledes import FIELDS, invoice_ledes
from billing.fees.services import time_entry_record
from billing.invoices.services import invoice_add_time, invoice_issue
from billing.trust.models import TrustSettings
from tests.support.billing import draft, template
from tests.support.cast import Cast

HEADER = (
    "INVOICE_DATE|INVOICE_NUMBER|CLIENT_ID|LAW_FIRM_MATTER_ID|INVOICE_TOTAL|BILLING_START_DATE|BILLING_END_DATE|"
    "INVOICE_DESCRIPTION|LINE_ITEM_NUMBER|EXP/FEE/INV_ADJ_TYPE|LINE_ITEM_NUMBER_OF_UNITS|LINE_ITEM_ADJUSTMENT_AMOUNT|"
    "LINE_ITEM_TOTAL|LINE_ITEM_DATE|LINE_ITEM_TASK_CODE|LINE_ITEM_EXPENSE_CODE|LINE_ITEM_ACTIVITY_CODE|TIMEKEEPER_ID|"
    "LINE_ITEM_DESCRIPTION|LAW_FIRM_ID|LINE_ITEM_UNIT_COST|TIMEKEEPER_NAME|TIMEKEEPER_CLASSIFICATION|CLIENT_MATTER_ID[]"
)


@pytest.fixture
def ledes_lines(books: Cast) -> list[str]:
    TrustSettings.objects.update_or_create(id=1, defaults={"apply_trust_to_invoices": False})
    time_entry_record(
        matter=books.m1,
        timekeeper=books.arthur,
        worked_on=date(2026, 3, 2),
        minutes=50,
        description="Drafting | cover letter [v2]",
        template=template("RFE-HOUR"),
        by=books.arthur,
    )
    invoice = draft(books.m1, books.bill, "USCIS-FEE")
    invoice_add_time(invoice=invoice)
    invoice = invoice_issue(invoice=invoice, by=books.paula, issued_on=date(2026, 3, 5))
    text = invoice_ledes(invoice)
    assert text.endswith("[]\r\n")
    return text.split("\r\n")[:-1]


def test_the_file_starts_with_the_format_line_and_the_standard_header(ledes_lines: list[str]) -> None:
    assert ledes_lines[0] == "LEDES1998B[]"
    assert ledes_lines[1] == HEADER
    assert len(FIELDS) == 24


def test_each_invoice_line_is_24_pipe_delimited_fields_ending_in_brackets(books: Cast, ledes_lines: list[str]) -> None:
    rows = [line.removesuffix("[]").split("|") for line in ledes_lines[2:]]
    assert all(line.endswith("[]") for line in ledes_lines[2:])
    assert [len(row) for row in rows] == [24, 24]
    expense, fee = (dict(zip(FIELDS, row, strict=True)) for row in rows)

    assert expense["INVOICE_DATE"] == "20260305"
    assert expense["INVOICE_NUMBER"] == "INV-000001"
    assert expense["LAW_FIRM_MATTER_ID"] == "2025-0001"
    assert expense["INVOICE_TOTAL"] == "925.00"  # 675.00 + 250.00
    assert expense["EXP/FEE/INV_ADJ_TYPE"] == "E"
    assert expense["LINE_ITEM_EXPENSE_CODE"] == "USCIS-FEE"
    assert expense["LINE_ITEM_TOTAL"] == "675.00"

    assert fee["EXP/FEE/INV_ADJ_TYPE"] == "F"
    assert fee["LINE_ITEM_NUMBER"] == "2"
    assert fee["LINE_ITEM_NUMBER_OF_UNITS"] == "0.83"  # 50 minutes
    assert fee["LINE_ITEM_UNIT_COST"] == "300.00"
    assert fee["LINE_ITEM_TOTAL"] == "250.00"
    assert fee["LINE_ITEM_DATE"] == "20260302"
    assert fee["TIMEKEEPER_NAME"] == "Arthur"
    assert fee["LINE_ITEM_DESCRIPTION"] == "Drafting / cover letter (v2)"  # no stray delimiters
    assert fee["BILLING_START_DATE"] == fee["BILLING_END_DATE"] == "20260302"


def test_a_draft_has_no_ledes_file(books: Cast) -> None:
    with pytest.raises(ValueError, match="only an issued invoice"):
        invoice_ledes(draft(books.m1, books.bill, "CONS-FLAT"))
