"""Writes for reconciliation: importing a trust bank statement and matching its lines to the ledger.

Auto-matching pairs a statement line with an unmatched trust-bank ledger line of
the same amount and direction, dated within ``window_days``; when several
qualify, one whose entry mentions the statement's reference wins, then the
nearest date. Only an unambiguous best candidate is matched; the rest are left
for matching by hand, and whatever stays unmatched is a discrepancy in the
three-way report.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.utils import timezone

from billing.inputs import check_business_date, check_currency, refuse
from billing.ledger.accounts import account_for
from billing.ledger.models import Account, ClosedMonth, JournalLine
from billing.ledger.services import check_open
from billing.locks import money_transaction
from billing.money import Money
from billing.reconciliation.models import BankStatement, StatementLine
from billing.reconciliation.selectors import month_end, three_way
from billing.reconciliation.statements import CsvMapping, ParsedStatement, StatementError, parse_csv, parse_ofx
from core.audit.actions import AuditAction
from core.audit.services import audit_record
from core.models import User
from core.roles import RECONCILE_TRUST


def _store(parsed: ParsedStatement, *, fmt: str, filename: str, by: User) -> BankStatement:
    if not parsed.lines:
        raise StatementError("the statement has no transactions")
    if parsed.closing_balance_minor is None:
        raise StatementError("the statement's closing balance is needed (a balance column, or enter it)")
    account = account_for(Account.Kind.TRUST_BANK, currency=parsed.currency)
    first = min(line.posted_on for line in parsed.lines)
    last = max(line.posted_on for line in parsed.lines)
    # A closed month's reconciliation is signed off: no statement may change it afterwards.
    check_open(parsed.period_end or last, currency=parsed.currency, field="period_end")
    statement = BankStatement.objects.create(
        account=account,
        format=fmt,
        filename=filename[:200],
        period_start=parsed.period_start or first,
        period_end=parsed.period_end or last,
        closing_balance_minor=parsed.closing_balance_minor,
        currency=parsed.currency,
        bank_account_number=parsed.bank_account_number or None,
        imported_by=by,
    )
    StatementLine.objects.bulk_create(
        [
            StatementLine(
                statement=statement,
                posted_on=line.posted_on,
                amount_minor=line.amount_minor,
                description=line.description,
                reference=line.reference,
                bank_id=line.bank_id,
            )
            for line in parsed.lines
        ]
    )
    audit_record(
        AuditAction.RECONCILIATION_IMPORT,
        actor=by,
        target=statement,
        data={
            "format": fmt,
            "filename": filename,
            "lines": len(parsed.lines),
            "closing_balance_minor": statement.closing_balance_minor,
        },
    )
    return statement


@money_transaction
def statement_import_csv(
    *,
    data: bytes | str,
    mapping: CsvMapping,
    currency: str,
    by: User,
    filename: str = "",
    closing_balance: Money | None = None,
    period_end: date | None = None,
) -> BankStatement:
    """Import a CSV statement read with ``mapping``; the closing balance may be entered when no column has it."""
    parsed = parse_csv(data, mapping=mapping, currency=check_currency(currency))
    if closing_balance is not None:
        if not isinstance(closing_balance, Money) or closing_balance.currency != currency:
            raise refuse("closing_balance", f"Enter the closing balance in {currency}.")
        parsed.closing_balance_minor = closing_balance.minor
    if period_end is not None:
        parsed.period_end = check_business_date(period_end, field="period_end")
    return _store(parsed, fmt=BankStatement.Format.CSV, filename=filename, by=by)


@money_transaction
def statement_import_ofx(*, data: bytes, by: User, filename: str = "") -> BankStatement:
    return _store(parse_ofx(data), fmt=BankStatement.Format.OFX, filename=filename, by=by)


def _candidates(line: StatementLine, *, window_days: int) -> list[JournalLine]:
    side = Q(debit_minor=line.amount_minor) if line.amount_minor > 0 else Q(credit_minor=-line.amount_minor)
    return list(
        JournalLine.objects.filter(side, account=line.statement.account, statement_line__isnull=True)
        .filter(
            occurred_on__range=(
                line.posted_on - timedelta(days=window_days),
                line.posted_on + timedelta(days=window_days),
            )
        )
        .select_related("entry")
    )


def _best(line: StatementLine, candidates: list[JournalLine]) -> JournalLine | None:
    if line.reference:
        by_reference = [c for c in candidates if line.reference.lower() in c.entry.memo.lower()]
        if len(by_reference) == 1:
            return by_reference[0]
        if by_reference:
            candidates = by_reference
    if not candidates:
        return None
    ranked = sorted(candidates, key=lambda c: abs((c.occurred_on - line.posted_on).days))
    if len(ranked) > 1 and ranked[0].occurred_on == ranked[1].occurred_on:
        return None  # two equally good candidates: a person decides
    return ranked[0]


@money_transaction
def statement_auto_match(*, statement: BankStatement, by: User, window_days: int = 3) -> int:
    """Match what can be matched unambiguously; returns how many statement lines were matched."""
    matched = 0
    for line in statement.lines.filter(matched_line__isnull=True).select_related("statement__account"):
        best = _best(line, _candidates(line, window_days=window_days))
        if best is None:
            continue
        line.matched_line = best
        line.matched_on = best.occurred_on
        line.matched_how = StatementLine.MatchedHow.AUTO
        line.matched_by = by
        line.save(update_fields=["matched_line", "matched_on", "matched_how", "matched_by"])
        matched += 1
    audit_record(AuditAction.RECONCILIATION_AUTO_MATCH, actor=by, target=statement, data={"matched": matched})
    return matched


def _check_months_open(line: StatementLine, journal_line: JournalLine | None) -> None:
    currency = line.statement.currency
    check_open(line.posted_on, currency=currency, field="statement_line")
    if journal_line is not None:
        check_open(journal_line.occurred_on, currency=currency, field="journal_line")


@money_transaction
def statement_match(*, statement_line: StatementLine, journal_line: JournalLine, by: User) -> StatementLine:
    """Match one statement line to one trust-bank ledger line by hand (amounts must agree)."""
    line = StatementLine.objects.select_for_update(of=("self",)).select_related("statement").get(pk=statement_line.pk)
    _check_months_open(line, journal_line)
    if line.matched_line_id is not None:
        raise ValidationError("This statement line is already matched.")
    if journal_line.account_id != line.statement.account_id:
        raise ValidationError("Only trust bank ledger lines can be matched to the trust bank statement.")
    if journal_line.net_debit_minor != line.amount_minor:
        raise ValidationError("The amounts differ; a statement line matches a ledger line of the same amount.")
    if StatementLine.objects.filter(matched_line=journal_line).exists():
        raise ValidationError("That ledger line is already matched to another statement line.")
    line.matched_line = journal_line
    line.matched_on = journal_line.occurred_on
    line.matched_how = StatementLine.MatchedHow.MANUAL
    line.matched_by = by
    line.save(update_fields=["matched_line", "matched_on", "matched_how", "matched_by"])
    audit_record(AuditAction.RECONCILIATION_MATCH, actor=by, target=line, data={"journal_line": journal_line.pk})
    return line


@money_transaction
def statement_unmatch(*, statement_line: StatementLine, by: User) -> StatementLine:
    line = (
        StatementLine.objects.select_for_update(of=("self",))
        .select_related("statement", "matched_line")
        .get(pk=statement_line.pk)
    )
    _check_months_open(line, line.matched_line)
    previous = line.matched_line_id
    line.matched_line = None
    line.matched_on = None
    line.matched_how = ""
    line.matched_by = None
    line.save(update_fields=["matched_line", "matched_on", "matched_how", "matched_by"])
    audit_record(AuditAction.RECONCILIATION_UNMATCH, actor=by, target=line, data={"journal_line": previous})
    return line


@money_transaction
def reconciliation_close_month(*, month: date, currency: str, by: User) -> ClosedMonth:
    """Sign off a month's three-way reconciliation: from now on no trust posting may be dated in it.

    Only a month that is over, has a bank statement and balances (adjusted bank =
    book = sum of client ledgers) can be closed; the figures are audited.
    """
    if not by.has_perm(RECONCILE_TRUST):
        raise PermissionDenied("Your role does not allow closing a month's reconciliation.")
    currency = check_currency(currency)
    first, last = month.replace(day=1), month_end(month)
    if last >= timezone.localdate():
        raise refuse("month", f"{first:%B %Y} is not over yet; close it once the month has ended.")
    if ClosedMonth.objects.filter(month=first, currency=currency).exists():
        raise refuse("month", f"{first:%B %Y} is already closed.")
    report = three_way(period_end=last, currency=currency, with_clients=False)
    if report.statement is None or report.statement.period_end < first:
        raise refuse("month", f"Import the bank statement for {first:%B %Y} before closing it.")
    if not report.balanced:
        raise refuse("month", f"{first:%B %Y} does not balance yet; resolve the discrepancies first.")
    closed = ClosedMonth.objects.create(month=first, currency=currency, closed_by=by)
    audit_record(
        AuditAction.RECONCILIATION_CLOSE_MONTH,
        actor=by,
        target=closed,
        data={
            "month": first.isoformat(),
            "currency": currency,
            "statement": report.statement.pk,
            "adjusted_bank_minor": report.adjusted_bank.minor,
            "book_minor": report.book_balance.minor,
            "client_ledgers_minor": report.client_ledgers.minor,
        },
    )
    return closed
