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
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from babel.numbers import get_currency_precision


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


def to_minor(text: str, currency: str, *, decimal_comma: bool = False) -> int:
    """``"1,234.56"`` in USD is 123456; refuses more decimals than the currency has."""
    cleaned = text.strip().strip('"').replace(" ", "").replace("\u00a0", "")
    cleaned = cleaned.replace(".", "").replace(",", ".") if decimal_comma else cleaned.replace(",", "")
    if cleaned.startswith("(") and cleaned.endswith(")"):
        cleaned = "-" + cleaned[1:-1]
    if not cleaned:
        return 0
    try:
        value = Decimal(cleaned)
    except InvalidOperation as exc:
        raise StatementError(f"{text!r} is not an amount") from exc
    scaled = value.scaleb(int(get_currency_precision(currency)))
    if scaled != scaled.to_integral_value():
        raise StatementError(f"{text!r} has more decimals than {currency} allows")
    return int(scaled)


def parse_csv(data: bytes | str, *, mapping: CsvMapping, currency: str) -> ParsedStatement:
    text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    reader = csv.DictReader(io.StringIO(text), delimiter=mapping.delimiter)
    wanted = [mapping.date, mapping.amount, mapping.debit, mapping.credit, mapping.description, mapping.reference]
    missing = {column for column in wanted if column and column not in (reader.fieldnames or [])}
    if missing:
        raise StatementError(f"the file has no column(s) {sorted(missing)}; its columns are {reader.fieldnames}")
    statement = ParsedStatement(currency=currency)
    for number, row in enumerate(reader, start=2):
        try:
            posted_on = datetime.strptime(row[mapping.date].strip(), mapping.date_format).date()  # noqa: DTZ007
        except ValueError as exc:
            raise StatementError(f"line {number}: {row[mapping.date]!r} is not a date ({mapping.date_format})") from exc
        if mapping.amount is not None:
            amount = to_minor(row[mapping.amount], currency, decimal_comma=mapping.decimal_comma)
        else:
            assert mapping.debit is not None
            assert mapping.credit is not None
            money_in = to_minor(row[mapping.credit] or "", currency, decimal_comma=mapping.decimal_comma)
            money_out = to_minor(row[mapping.debit] or "", currency, decimal_comma=mapping.decimal_comma)
            amount = abs(money_in) - abs(money_out)
        statement.lines.append(
            ParsedLine(
                posted_on=posted_on,
                amount_minor=amount,
                description=(row.get(mapping.description or "") or "").strip()[:500],
                reference=(row.get(mapping.reference or "") or "").strip()[:100],
            )
        )
        if mapping.balance and row.get(mapping.balance):
            statement.closing_balance_minor = to_minor(
                row[mapping.balance], currency, decimal_comma=mapping.decimal_comma
            )
    if statement.lines:
        statement.period_start = min(line.posted_on for line in statement.lines)
        statement.period_end = max(line.posted_on for line in statement.lines)
    return statement


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
    statement = ParsedStatement(currency=currency)
    account = getattr(source, "account", None)
    statement.bank_account_number = str(getattr(account, "acctid", "") or "")[:34]
    for txn in source.transactions:
        reference = txn.checknum or txn.refnum or ""
        statement.lines.append(
            ParsedLine(
                posted_on=txn.dtposted.date(),
                amount_minor=to_minor(str(txn.trnamt), currency),
                description=" ".join(part for part in (txn.name, txn.memo) if part)[:500],
                reference=str(reference)[:100],
                bank_id=str(txn.fitid or "")[:100],
            )
        )
    banktranlist = source.banktranlist
    statement.period_start = banktranlist.dtstart.date() if banktranlist is not None else None
    statement.period_end = banktranlist.dtend.date() if banktranlist is not None else None
    if source.ledgerbal is not None:
        statement.closing_balance_minor = to_minor(str(source.ledgerbal.balamt), currency)
    return statement
