"""The monthly three-way reconciliation of the trust account (SPEC §7).

For the month ending ``period_end``:

* **adjusted bank balance** = the bank statement's closing balance
  + deposits in transit (trust-bank debits in the books not yet on a statement)
  - outstanding withdrawals (trust-bank credits in the books not yet on a statement).
  Statement lines left unmatched are bank items missing from the books: they
  are listed as discrepancies (and totalled) and keep the report unbalanced
  until they are recorded and matched;
* **trust book balance** = the trust bank account's balance on that day;
* **sum of client ledgers** = the sum of every client-matter trust account's balance.

The three agree when the trust account is in order. Every figure is a handful of
aggregate queries (no per-client loop) over the monthly account totals, the
last month's lines and the statement lines, so the report stays fast over
millions of postings (bench/ledger.py).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date

from django.db.models import Q, Sum

from billing.ledger.models import Account, JournalLine
from billing.ledger.selectors import balances_by_account, debits_and_credits, kind_total
from billing.money import Money
from billing.reconciliation.models import BankStatement, StatementLine


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


@dataclass(frozen=True)
class ClientBalance:
    account_id: int
    client: str
    matter: str
    balance: Money


@dataclass
class ThreeWay:
    period_end: date
    currency: str
    statement: BankStatement | None
    statement_balance: Money
    deposits_in_transit: Money
    outstanding_withdrawals: Money
    unrecorded_bank_items: Money
    book_balance: Money
    client_ledgers: Money
    clients: list[ClientBalance] = field(default_factory=list)
    discrepancies: list[StatementLine] = field(default_factory=list)

    @property
    def adjusted_bank(self) -> Money:
        return self.statement_balance + self.deposits_in_transit - self.outstanding_withdrawals

    @property
    def balanced(self) -> bool:
        return self.adjusted_bank == self.book_balance == self.client_ledgers


def _statement_for(account: Account | None, period_end: date) -> BankStatement | None:
    if account is None:
        return None
    return (
        BankStatement.objects.filter(account=account, period_end__lte=period_end).order_by("-period_end", "-id").first()
    )


def three_way(*, period_end: date, currency: str, with_clients: bool = True) -> ThreeWay:
    """The three-way reconciliation as of ``period_end`` (usually a month end)."""
    trust_bank = Account.objects.filter(kind=Account.Kind.TRUST_BANK, currency=currency).first()
    statement = _statement_for(trust_bank, period_end)
    cutoff = statement.period_end if statement is not None else None
    in_transit = outstanding = unrecorded = 0
    discrepancies: list[StatementLine] = []
    if trust_bank is not None:
        # What is in the books but not (yet) on a statement: the books' debits and credits up to the
        # day, less those matched to statement lines up to the statement's end (a matched line's
        # amount is the ledger line's, so the statement side can be summed without a join).
        debits, credits = debits_and_credits(trust_bank, as_of=period_end)
        matched = StatementLine.objects.filter(
            statement__account=trust_bank,
            matched_line__isnull=False,
            posted_on__lte=cutoff or period_end,
            matched_on__lte=period_end,
        ).aggregate(
            into=Sum("amount_minor", filter=Q(amount_minor__gt=0)),
            out=Sum("amount_minor", filter=Q(amount_minor__lt=0)),
        )
        in_transit = debits.minor - int(matched["into"] or 0)
        outstanding = credits.minor + int(matched["out"] or 0)
        if statement is not None:
            unmatched = StatementLine.objects.filter(
                statement__account=trust_bank, posted_on__lte=statement.period_end, matched_line__isnull=True
            )
            unrecorded = int(unmatched.aggregate(total=Sum("amount_minor"))["total"] or 0)
            discrepancies = list(unmatched.order_by("posted_on", "id")[:500])
    report = ThreeWay(
        period_end=period_end,
        currency=currency,
        statement=statement,
        statement_balance=Money(statement.closing_balance_minor if statement is not None else 0, currency),
        deposits_in_transit=Money(in_transit, currency),
        outstanding_withdrawals=Money(outstanding, currency),
        unrecorded_bank_items=Money(unrecorded, currency),
        book_balance=kind_total(Account.Kind.TRUST_BANK, currency=currency, as_of=period_end),
        client_ledgers=kind_total(Account.Kind.CLIENT_TRUST, currency=currency, as_of=period_end),
        discrepancies=discrepancies,
    )
    if with_clients:
        report.clients = client_balances(period_end=period_end, currency=currency)
    return report


def client_balances(*, period_end: date, currency: str) -> list[ClientBalance]:
    """Every client-matter trust balance on ``period_end`` that is not zero, by client then matter."""
    accounts = Account.objects.filter(kind=Account.Kind.CLIENT_TRUST, currency=currency)
    balances = balances_by_account(as_of=period_end, accounts=accounts)
    named = accounts.filter(pk__in=[pk for pk, amount in balances.items() if amount]).values_list(
        "pk", "client__email", "matter__reference"
    )
    rows = [ClientBalance(pk, email or "", reference or "", balances[pk]) for pk, email, reference in named]
    return sorted(rows, key=lambda row: (row.client, row.matter))


def outstanding_ledger_lines(*, period_end: date, currency: str, limit: int = 500) -> list[JournalLine]:
    """Trust-bank ledger lines not (yet) on any statement: candidates for manual matching."""
    return list(
        JournalLine.objects.filter(
            account__kind=Account.Kind.TRUST_BANK,
            currency=currency,
            occurred_on__lte=period_end,
            statement_line__isnull=True,
        )
        .select_related("entry")
        .order_by("occurred_on", "id")[:limit]
    )
