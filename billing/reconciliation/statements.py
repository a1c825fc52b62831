"""Reading bank statements: CSV with a column mapping, and OFX (ofxtools).

CSV column mapping (``CsvMapping``), by header name:

* ``date`` (required) — the booking date, in ``date_format`` (default ``%Y-%m-%d``);
* either ``amount`` — one signed column, deposits positive, withdrawals negative —
  or ``debit`` and ``credit`` — two unsigned columns, money out and money in;
* ``description`` and ``reference`` (optional) — free text and the bank's reference;
* ``balance`` (optional) — the running balance; the last row's is the closing balance.

Amounts are decimal strings in the statement's currency (``1234.56``; a
thousands separator ``,`` and a surrounding ``"`` are tolerated; with
``decimal_comma`` the roles of ``.`` and ``,`` swap). They become integer minor
units without passing through a float.

A malformed row (a short or long row, a cell that is not an amount or a date, a
date before 2000 or after today, both or neither of debit and credit) stops the
import with ``StatementError`` naming the row; nothing is imported.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone

from billing.inputs import EARLIEST_DATE
from billing.money import MAX_MAJOR_UNITS, known_currency, minor_digits


class StatementError(ValueError):
    """The file cannot be read as a statement with this mapping."""


@dataclass(frozen=True)
class ParsedLine:
    posted_on: date
    amount_minor: int
    description: str = ""
    reference: str = ""
    bank_id: str = ""


@dataclass
class ParsedStatement:
    currency: str
    lines: list[ParsedLine] = field(default_factory=list)
    period_start: date | None = None
    period_end: date | None = None
    closing_balance_minor: int | None = None
    bank_account_number: str = ""


@dataclass(frozen=True)
class CsvMapping:
    date: str = "date"
    amount: str | None = "amount"
    debit: str | None = None
    credit: str | None = None
    description: str | None = "description"
    reference: str | None = "reference"
    balance: str | None = None
    date_format: str = "%Y-%m-%d"
    delimiter: str = ","
    decimal_comma: bool = False

    def __post_init__(self) -> None:
        if self.amount is None and (self.debit is None or self.credit is None):
            raise StatementError("map either a signed amount column or both debit and credit columns")


_BANK_AMOUNT = re.compile(r"[+-]?\d+(?:\.\d+)?")


def to_minor(text: str, currency: str, *, decimal_comma: bool = False) -> int:
    """``"1,234.56"`` in USD is 123456; refuses more decimals than the currency has, and anything but an amount.

    Plain decimal notation only after the separators are removed: no exponent
    (``1e3``), no ``Infinity`` or ``NaN``, at most ``MAX_MAJOR_UNITS``.
    """
    cleaned = text.strip().strip('"').replace(" ", "").replace("\u00a0", "")
    cleaned = cleaned.replace(".", "").replace(",", ".") if decimal_comma else cleaned.replace(",", "")
    if cleaned.startswith("(") and cleaned.endswith(")"):
        cleaned = "-" + cleaned[1:-1]
    if not _BANK_AMOUNT.fullmatch(cleaned):
        raise StatementError(f"{text[:40]!r} is not an amount")
    value = Decimal(cleaned)
    if abs(value) > MAX_MAJOR_UNITS:
        raise StatementError(f"{text[:40]!r} is more than the largest amount accepted")
    scaled = value.scaleb(minor_digits(currency))
    if scaled != scaled.to_integral_value():
        raise StatementError(f"{text!r} has more decimals than {currency} allows")
    return int(scaled)


def _cell(row: dict[str | None, Any], column: str | None) -> str:
    value = row.get(column) if column else None
    return value.strip() if isinstance(value, str) else ""


def _line_amount(row: dict[str | None, Any], mapping: CsvMapping, currency: str) -> int:
    def amount(column: str) -> int:
        return to_minor(_cell(row, column), currency, decimal_comma=mapping.decimal_comma)

    if mapping.amount is not None:
        if not _cell(row, mapping.amount):
            raise StatementError(f"the {mapping.amount!r} column is empty")
        return amount(mapping.amount)
    assert mapping.debit is not None
    assert mapping.credit is not None
    money_out = amount(mapping.debit) if _cell(row, mapping.debit) else 0
    money_in = amount(mapping.credit) if _cell(row, mapping.credit) else 0
    if bool(money_out) == bool(money_in):
        raise StatementError(f"exactly one of {mapping.debit!r} and {mapping.credit!r} must hold an amount")
    return abs(money_in) - abs(money_out)


def _posted_on(text: str, mapping: CsvMapping, today: date) -> date:
    try:
        posted_on = datetime.strptime(text, mapping.date_format).date()  # noqa: DTZ007
    except ValueError as exc:
        raise StatementError(f"{text!r} is not a date ({mapping.date_format})") from exc
    if posted_on < EARLIEST_DATE or posted_on > today:
        raise StatementError(f"{posted_on.isoformat()} is not a date a bank could have booked (before 2000 or ahead)")
    return posted_on


def parse_csv(data: bytes | str, *, mapping: CsvMapping, currency: str) -> ParsedStatement:
    """Every row as a line, or ``StatementError`` naming the first bad row (by its line in the file)."""
    if not known_currency(currency):
        raise StatementError(f"{str(currency)[:10]!r} is not a currency; use an upper-case ISO 4217 code such as USD")
    try:
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    except UnicodeDecodeError as exc:
        raise StatementError("the file is not UTF-8 text; export the statement as CSV (UTF-8)") from exc
    reader = csv.DictReader(io.StringIO(text), delimiter=mapping.delimiter)
    wanted = [mapping.date, mapping.amount, mapping.debit, mapping.credit, mapping.description, mapping.reference]
    missing = {column for column in wanted if column and column not in (reader.fieldnames or [])}
    if missing:
        raise StatementError(f"the file has no column(s) {sorted(missing)}; its columns are {reader.fieldnames}")
    statement = ParsedStatement(currency=currency)
    today = timezone.localdate()
    try:
        for row in reader:
            number = reader.line_num
            try:
                statement.lines.append(_parse_row(row, mapping, currency, today, statement))
            except StatementError as exc:
                raise StatementError(f"row {number}: {exc}") from exc
    except csv.Error as exc:
        raise StatementError(f"row {reader.line_num}: not readable as CSV ({exc})") from exc
    if statement.lines:
        statement.period_start = min(line.posted_on for line in statement.lines)
        statement.period_end = max(line.posted_on for line in statement.lines)
    return statement


def _parse_row(
    row: dict[str | None, Any], mapping: CsvMapping, currency: str, today: date, statement: ParsedStatement
) -> ParsedLine:
    if None in row:  # DictReader's key for cells beyond the header
        raise StatementError("it has more cells than the header has columns")
    if any(value is None for value in row.values()):
        raise StatementError("it has fewer cells than the header has columns")
    line = ParsedLine(
        posted_on=_posted_on(_cell(row, mapping.date), mapping, today),
        amount_minor=_line_amount(row, mapping, currency),
        description=_cell(row, mapping.description)[:500],
        reference=_cell(row, mapping.reference)[:100],
    )
    if mapping.balance and _cell(row, mapping.balance):
        statement.closing_balance_minor = to_minor(
            _cell(row, mapping.balance), currency, decimal_comma=mapping.decimal_comma
        )
    return line


def parse_ofx(data: bytes) -> ParsedStatement:
    from ofxtools.Parser import OFXTree

    tree = OFXTree()
    try:
        tree.parse(io.BytesIO(data))
        ofx = tree.convert()
    except Exception as exc:  # ofxtools raises a variety of parse errors
        raise StatementError(f"not a readable OFX file: {exc}") from exc
    if not ofx.statements:
        raise StatementError("the OFX file holds no bank statement")
    source = ofx.statements[0]
    currency = str(source.curdef)
    if not known_currency(currency):
        raise StatementError(f"the statement's currency {currency[:10]!r} is not an ISO 4217 currency")
    statement = ParsedStatement(currency=currency)
    account = getattr(source, "account", None)
    statement.bank_account_number = str(getattr(account, "acctid", "") or "")[:34]
    today = timezone.localdate()
    for number, txn in enumerate(source.transactions, start=1):
        try:
            statement.lines.append(_ofx_line(txn, currency, today))
        except (StatementError, AttributeError, TypeError) as exc:
            raise StatementError(f"transaction {number} (FITID {getattr(txn, 'fitid', '')!s:.40}): {exc}") from exc
    banktranlist = source.banktranlist
    statement.period_start = banktranlist.dtstart.date() if banktranlist is not None else None
    statement.period_end = banktranlist.dtend.date() if banktranlist is not None else None
    if source.ledgerbal is not None:
        statement.closing_balance_minor = to_minor(format(source.ledgerbal.balamt, "f"), currency)
    return statement


def _ofx_line(txn: Any, currency: str, today: date) -> ParsedLine:
    if txn.dtposted is None or txn.trnamt is None:
        raise StatementError("it has no date or no amount")
    posted_on = txn.dtposted.date()
    if posted_on < EARLIEST_DATE or posted_on > today:
        raise StatementError(f"{posted_on.isoformat()} is not a date a bank could have booked (before 2000 or ahead)")
    reference = txn.checknum or txn.refnum or ""
    return ParsedLine(
        posted_on=posted_on,
        amount_minor=to_minor(format(txn.trnamt, "f"), currency),
        description=" ".join(part for part in (txn.name, txn.memo) if part)[:500],
        reference=str(reference)[:100],
        bank_id=str(txn.fitid or "")[:100],
    )
