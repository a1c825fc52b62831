"""Writes on the ledger: posting one balanced journal entry, and reversing one.

Every business event is one ``journal_post`` inside the caller's transaction;
the database checks at commit that each entry's debits equal its credits (per
currency) and refuses any UPDATE or DELETE of an entry or a line, so a mistake
is corrected by ``journal_reverse``, never by editing.

A month whose trust reconciliation was signed off (``ClosedMonth``) takes no
further trust postings dated in it: a correction is dated in an open month.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from billing.ledger.models import Account, ClosedMonth, JournalEntry, JournalLine
from billing.locks import money_transaction
from billing.money import Money
from core.audit.actions import AuditAction
from core.audit.services import audit_record
from core.models import User


class UnbalancedEntry(ValueError):
    """The lines of an entry do not balance, or a line is malformed."""


class ClosedPeriod(ValidationError):
    """A trust posting dated in a month whose reconciliation was signed off."""


@dataclass(frozen=True)
class Line:
    """One side of a posting: ``Line.debit(account, Money(100_00, "USD"))`` or ``Line.credit(...)``."""

    account: Account
    debit_minor: int = 0
    credit_minor: int = 0
    currency: str = ""

    @classmethod
    def debit(cls, account: Account, amount: Money) -> Line:
        return cls(account=account, debit_minor=_minor(amount), currency=amount.currency)

    @classmethod
    def credit(cls, account: Account, amount: Money) -> Line:
        return cls(account=account, credit_minor=_minor(amount), currency=amount.currency)

    @property
    def amount(self) -> Money:
        return Money(self.debit_minor or self.credit_minor, self.currency_code)

    @property
    def currency_code(self) -> str:
        return self.currency or self.account.currency


def _minor(amount: object) -> int:
    if not isinstance(amount, Money):
        raise UnbalancedEntry(f"a line's amount is Money (whole minor units), not {type(amount).__name__}")
    return amount.minor


def check_open(day: date, *, currency: str, field: str = "occurred_on") -> None:
    """Refuse a trust posting dated ``day`` when its month's reconciliation in ``currency`` was signed off."""
    if ClosedMonth.objects.filter(month=day.replace(day=1), currency=currency).exists():
        raise ClosedPeriod(
            {field: [f"{day:%B %Y} is reconciled and closed for trust postings; date the entry in an open month."]}
        )


def _check_period(lines: list[Line], occurred_on: date) -> None:
    for currency in sorted({line.currency_code for line in lines if line.account.kind in Account.TRUST_KINDS}):
        check_open(occurred_on, currency=currency)


def _check(lines: list[Line]) -> None:
    if len(lines) < 2:
        raise UnbalancedEntry("an entry has at least two lines")
    totals: dict[str, int] = {}
    for line in lines:
        for amount in (line.debit_minor, line.credit_minor):
            if isinstance(amount, bool) or not isinstance(amount, int):
                raise UnbalancedEntry(f"amounts are whole minor units, not {type(amount).__name__}")
        if (line.debit_minor > 0) == (line.credit_minor > 0) or min(line.debit_minor, line.credit_minor) < 0:
            raise UnbalancedEntry("a line is either a positive debit or a positive credit")
        if line.currency_code != line.account.currency:
            raise UnbalancedEntry(f"{line.account} is kept in {line.account.currency}, not {line.currency_code}")
        totals[line.currency_code] = totals.get(line.currency_code, 0) + line.debit_minor - line.credit_minor
    unbalanced = {currency: total for currency, total in totals.items() if total}
    if unbalanced:
        raise UnbalancedEntry(f"debits and credits differ by {unbalanced} (minor units)")


def _entry_data(entry: JournalEntry, lines: list[Line]) -> dict[str, object]:
    return {
        "kind": entry.kind,
        "occurred_on": entry.occurred_on.isoformat(),
        "source": f"{entry.source_type}:{entry.source_id}" if entry.source_type else "",
        "lines": [[line.account.name, line.debit_minor, line.credit_minor, line.currency_code] for line in lines],
    }


@money_transaction
def journal_post(
    *,
    kind: str,
    lines: list[Line],
    memo: str,
    by: User | None,
    source: models.Model | None = None,
    occurred_on: date | None = None,
) -> JournalEntry:
    """Post one balanced entry of ``lines`` (audited as ``ledger.post``)."""
    _check(lines)
    occurred_on = occurred_on or timezone.localdate()
    _check_period(lines, occurred_on)
    entry = JournalEntry.objects.create(
        kind=kind,
        memo=memo[:500],
        occurred_on=occurred_on,
        posted_by=by,
        source_type=source._meta.label_lower if source is not None else "",
        source_id=str(source.pk) if source is not None else "",
    )
    JournalLine.objects.bulk_create(
        [
            JournalLine(
                entry=entry,
                account=line.account,
                debit_minor=line.debit_minor,
                credit_minor=line.credit_minor,
                currency=line.currency_code,
                occurred_on=occurred_on,
            )
            for line in lines
        ]
    )
    audit_record(AuditAction.LEDGER_POST, actor=by, target=entry, data=_entry_data(entry, lines))
    return entry


@money_transaction
def journal_reverse(
    *, entry: JournalEntry, by: User | None, memo: str, occurred_on: date | None = None
) -> JournalEntry:
    """Post the mirror image of ``entry`` (debits become credits); an entry is reversed at most once."""
    original = JournalEntry.objects.select_for_update().get(pk=entry.pk)
    if JournalEntry.objects.filter(reverses=original).exists():
        raise ValueError(f"{original} is already reversed")
    lines = [
        Line(account=line.account, debit_minor=line.credit_minor, credit_minor=line.debit_minor, currency=line.currency)
        for line in original.lines.select_related("account")
    ]
    _check(lines)
    occurred_on = occurred_on or timezone.localdate()
    _check_period(lines, occurred_on)
    reversal = JournalEntry.objects.create(
        kind=f"{original.kind}.reversal"[:48],
        memo=memo[:500],
        occurred_on=occurred_on,
        posted_by=by,
        source_type=original.source_type,
        source_id=original.source_id,
        reverses=original,
    )
    JournalLine.objects.bulk_create(
        [
            JournalLine(
                entry=reversal,
                account=line.account,
                debit_minor=line.debit_minor,
                credit_minor=line.credit_minor,
                currency=line.currency_code,
                occurred_on=occurred_on,
            )
            for line in lines
        ]
    )
    audit_record(
        AuditAction.LEDGER_REVERSE,
        actor=by,
        target=reversal,
        data={"reverses": original.pk, **_entry_data(reversal, lines)},
    )
    return reversal
