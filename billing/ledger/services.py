"""Writes on the ledger: posting one balanced journal entry, and reversing one.

Every business event is one ``journal_post`` inside the caller's transaction;
the database checks at commit that each entry's debits equal its credits (per
currency) and refuses any UPDATE or DELETE of an entry or a line, so a mistake
is corrected by ``journal_reverse``, never by editing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import models
from django.utils import timezone

from billing.ledger.models import Account, JournalEntry, JournalLine
from billing.locks import money_transaction
from core.audit.services import audit_record
from core.models import User


class UnbalancedEntry(ValueError):
    """The lines of an entry do not balance, or a line is malformed."""


@dataclass(frozen=True)
class Line:
    """One side of a posting: ``Line.debit(account, 100_00)`` or ``Line.credit(account, 100_00)``."""

    account: Account
    debit_minor: int = 0
    credit_minor: int = 0
    currency: str = ""

    @classmethod
    def debit(cls, account: Account, amount_minor: int, currency: str | None = None) -> Line:
        return cls(account=account, debit_minor=amount_minor, currency=currency or account.currency)

    @classmethod
    def credit(cls, account: Account, amount_minor: int, currency: str | None = None) -> Line:
        return cls(account=account, credit_minor=amount_minor, currency=currency or account.currency)

    @property
    def currency_code(self) -> str:
        return self.currency or self.account.currency


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
    audit_record("ledger.post", actor=by, target=entry, data=_entry_data(entry, lines))
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
        "ledger.reverse", actor=by, target=reversal, data={"reverses": original.pk, **_entry_data(reversal, lines)}
    )
    return reversal
