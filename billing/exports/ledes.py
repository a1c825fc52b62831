"""LEDES 1998B export of an issued invoice (the e-billing format insurers and corporate clients read).

The file is ``LEDES1998B[]``, the header line of the 24 field names, then one
line per invoice line: fields separated by ``|``, each line ending in ``[]``.
Dates are YYYYMMDD; amounts are decimals without a currency sign; fee lines
count hours (minutes / 60, two decimals) at the hourly rate, expenses count
units at their unit cost. Pipes and brackets in free text are replaced, since
the format has no escaping.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from billing.invoices.models import Invoice, InvoiceLine
from billing.money import Money
from tenants.db import tenant_connection

FIELDS = (
    "INVOICE_DATE",
    "INVOICE_NUMBER",
    "CLIENT_ID",
    "LAW_FIRM_MATTER_ID",
    "INVOICE_TOTAL",
    "BILLING_START_DATE",
    "BILLING_END_DATE",
    "INVOICE_DESCRIPTION",
    "LINE_ITEM_NUMBER",
    "EXP/FEE/INV_ADJ_TYPE",
    "LINE_ITEM_NUMBER_OF_UNITS",
    "LINE_ITEM_ADJUSTMENT_AMOUNT",
    "LINE_ITEM_TOTAL",
    "LINE_ITEM_DATE",
    "LINE_ITEM_TASK_CODE",
    "LINE_ITEM_EXPENSE_CODE",
    "LINE_ITEM_ACTIVITY_CODE",
    "TIMEKEEPER_ID",
    "LINE_ITEM_DESCRIPTION",
    "LAW_FIRM_ID",
    "LINE_ITEM_UNIT_COST",
    "TIMEKEEPER_NAME",
    "TIMEKEEPER_CLASSIFICATION",
    "CLIENT_MATTER_ID",
)
FORMAT_LINE = "LEDES1998B[]"
END = "[]"


def _text(value: object) -> str:
    return " ".join(str(value).replace("|", "/").replace("[", "(").replace("]", ")").split())


def _day(value: date | None) -> str:
    return value.strftime("%Y%m%d") if value else ""


def _amount(minor: int, currency: str) -> str:
    return str(Money(minor, currency).as_decimal())


def _hours(minutes: int) -> str:
    return str((Decimal(minutes) / 60).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _row(invoice: Invoice, number: int, line: InvoiceLine, start: date | None, end: date | None) -> list[str]:
    currency = invoice.currency
    is_fee = line.kind != InvoiceLine.Kind.DISBURSEMENT
    units = _hours(line.minutes) if line.minutes else str(line.quantity)
    return [
        _day(invoice.issued_on),
        invoice.display_number,
        str(invoice.client_id),
        invoice.matter.reference,
        _amount(invoice.total_minor, currency),
        _day(start),
        _day(end),
        _text(f"{invoice.matter.matter_type} {invoice.matter.title}"),
        str(number),
        "F" if is_fee else "E",
        units,
        "0.00",
        _amount(line.amount_minor, currency),
        _day(line.worked_on or invoice.issued_on),
        "",  # UTBMS task codes are not kept
        "" if is_fee else _text(line.code),
        _text(line.code) if is_fee else "",
        "",
        _text(line.description),
        _text(getattr(tenant_connection().tenant, "slug", "")),
        _amount(line.unit_minor, currency),
        _text(line.timekeeper),
        "",
        invoice.matter.reference,
    ]


def invoice_ledes(invoice: Invoice) -> str:
    """The LEDES 1998B text of an issued invoice."""
    if invoice.number is None:
        raise ValueError("only an issued invoice has a LEDES file")
    lines = list(invoice.lines.all())
    days = [line.worked_on for line in lines if line.worked_on is not None]
    if invoice.issued_on is not None:
        days = days or [invoice.issued_on]
    start, end = (min(days), max(days)) if days else (None, None)
    out = [FORMAT_LINE, "|".join(FIELDS) + END]
    for number, line in enumerate(lines, start=1):
        out.append("|".join(_row(invoice, number, line, start, end)) + END)
    return "\r\n".join(out) + "\r\n"
