"""Reads on the ledger. Balances are derived from the postings, never stored by Python.

Whole months come from ``AccountMonth`` (debits and credits per account and
month, added by a database trigger as lines are inserted); the last, partial
month is summed from the lines themselves. So a balance on any day reads at
most a month of lines, however long the ledger grows.

Balances are ``Money`` in the account's currency.

Money checks (what may leave trust, client credit, a refund) do not read the
monthly totals: ``line_balance`` sums the account's own lines, so an edited
total can mislead a report (and ``portico ledger verify`` names it) but never
move money.

``balance`` is signed by the account's normal side: an asset or expense is
positive when debits exceed credits, a liability or revenue when credits
exceed debits. ``net_debit`` is the raw debits minus credits (hledger's sign).
"""

from __future__ import annotations

from datetime import date, timedelta

from django.db.models import F, Q, QuerySet, Sum

from billing.ledger.models import Account, AccountMonth, JournalLine
from billing.money import Money


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _split(as_of: date | None) -> tuple[Q, Q | None]:
    """Which whole months come from ``AccountMonth``, and which lines of the last, partial month are added.

    Up to ``as_of``: every month before ``as_of``'s month whole, plus that
    month's lines up to ``as_of`` (or the whole month when ``as_of`` is its last day).
    """
    if as_of is None:
        return Q(), None
    first = _month_start(as_of)
    if (as_of + timedelta(days=1)).month != as_of.month:  # the month's last day
        return Q(month__lte=first), None
    return Q(month__lt=first), Q(occurred_on__gte=first, occurred_on__lte=as_of)


def _nets(months: QuerySet[AccountMonth], lines: QuerySet[JournalLine], as_of: date | None) -> dict[int, int]:
    whole, partial = _split(as_of)
    nets: dict[int, int] = {}
    grouped = months.filter(whole).values("account_id").annotate(net=Sum(F("debit_minor") - F("credit_minor")))
    for row in grouped.order_by():
        nets[row["account_id"]] = int(row["net"])
    if partial is not None:
        recent = lines.filter(partial).values("account_id").annotate(net=Sum(F("debit_minor") - F("credit_minor")))
        for row in recent.order_by():
            nets[row["account_id"]] = nets.get(row["account_id"], 0) + int(row["net"])
    return nets


def net_debit(account: Account, as_of: date | None = None) -> Money:
    """Debits minus credits on ``account`` up to and including ``as_of``."""
    months = AccountMonth.objects.filter(account=account)
    return Money(_nets(months, JournalLine.objects.filter(account=account), as_of).get(account.pk, 0), account.currency)


def debits_and_credits(account: Account, as_of: date | None = None) -> tuple[Money, Money]:
    """Total debits and total credits on ``account`` up to and including ``as_of``."""
    whole, partial = _split(as_of)
    totals = AccountMonth.objects.filter(whole, account=account).aggregate(d=Sum("debit_minor"), c=Sum("credit_minor"))
    debits, credits = int(totals["d"] or 0), int(totals["c"] or 0)
    if partial is not None:
        recent = JournalLine.objects.filter(partial, account=account).aggregate(
            d=Sum("debit_minor"), c=Sum("credit_minor")
        )
        debits, credits = debits + int(recent["d"] or 0), credits + int(recent["c"] or 0)
    return Money(debits, account.currency), Money(credits, account.currency)


def _normal(account_kind: str, net: int, currency: str) -> Money:
    return Money(net if account_kind in Account.DEBIT_NORMAL else -net, currency)


def balance(account: Account, as_of: date | None = None) -> Money:
    """The account's balance on its normal side, in its currency."""
    return _normal(account.kind, net_debit(account, as_of).minor, account.currency)


def line_balance(account: Account, as_of: date | None = None) -> Money:
    """The account's balance on its normal side, summed from its lines alone (for checks before money moves)."""
    lines = JournalLine.objects.filter(account=account)
    if as_of is not None:
        lines = lines.filter(occurred_on__lte=as_of)
    net = int(lines.aggregate(net=Sum(F("debit_minor") - F("credit_minor")))["net"] or 0)
    return _normal(account.kind, net, account.currency)


def net_debits_by_account(*, as_of: date | None = None, accounts: QuerySet[Account] | None = None) -> dict[int, int]:
    """Debits minus credits per account id, in minor units of each account's currency (no postings: absent)."""
    months = AccountMonth.objects.all()
    lines = JournalLine.objects.all()
    if accounts is not None:
        months = months.filter(account__in=accounts)
        lines = lines.filter(account__in=accounts)
    return _nets(months, lines, as_of)


def balances_by_account(*, as_of: date | None = None, accounts: QuerySet[Account] | None = None) -> dict[int, Money]:
    """Each account's balance on its normal side, keyed by account id (accounts without lines are absent)."""
    nets = net_debits_by_account(as_of=as_of, accounts=accounts)
    owners = Account.objects.filter(pk__in=nets).values_list("pk", "kind", "currency")
    return {pk: _normal(kind, nets[pk], currency) for pk, kind, currency in owners}


def kind_total(kind: str, *, currency: str, as_of: date | None = None) -> Money:
    """The sum of the balances of every account of ``kind`` in ``currency`` (e.g. all client trust ledgers)."""
    accounts = Account.objects.filter(kind=kind, currency=currency)
    return _normal(kind, sum(net_debits_by_account(as_of=as_of, accounts=accounts).values()), currency)


def unbalanced_entries() -> list[int]:
    """Ids of entries whose debits and credits differ in some currency (always empty; ``ledger verify`` checks)."""
    rows = (
        JournalLine.objects.values("entry_id", "currency")
        .annotate(net=Sum(F("debit_minor") - F("credit_minor")))
        .exclude(net=0)
        .order_by()
    )
    return sorted({row["entry_id"] for row in rows})
