"""Reads on the ledger. Balances are derived from the lines, never stored.

``balance`` is signed by the account's normal side: an asset or expense is
positive when debits exceed credits, a liability or revenue when credits
exceed debits. ``net_debit`` is the raw debits minus credits (hledger's sign).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.db.models import F, QuerySet, Sum

from billing.ledger.models import Account, JournalEntry, JournalLine


def _lines(account_ids: Iterable[int] | None, as_of: date | None) -> QuerySet[JournalLine]:
    lines = JournalLine.objects.all()
    if account_ids is not None:
        lines = lines.filter(account_id__in=list(account_ids))
    if as_of is not None:
        lines = lines.filter(occurred_on__lte=as_of)
    return lines


def net_debit(account: Account, as_of: date | None = None) -> int:
    """Debits minus credits on ``account`` up to and including ``as_of``."""
    total = _lines([account.pk], as_of).aggregate(net=Sum(F("debit_minor") - F("credit_minor")))["net"]
    return int(total or 0)


def balance(account: Account, as_of: date | None = None) -> int:
    """The account's balance on its normal side, in minor units of its currency."""
    net = net_debit(account, as_of)
    return net if account.debit_normal else -net


def net_debits_by_account(*, as_of: date | None = None, accounts: QuerySet[Account] | None = None) -> dict[int, int]:
    """Debits minus credits per account id, in one grouped scan."""
    lines = _lines(None, as_of)
    if accounts is not None:
        lines = lines.filter(account__in=accounts)
    rows = lines.values("account_id").annotate(net=Sum(F("debit_minor") - F("credit_minor"))).order_by()
    return {row["account_id"]: int(row["net"]) for row in rows}


def balances_by_account(*, as_of: date | None = None, accounts: QuerySet[Account] | None = None) -> dict[int, int]:
    """Each account's balance on its normal side, keyed by account id (accounts without lines are absent)."""
    nets = net_debits_by_account(as_of=as_of, accounts=accounts)
    kinds = dict(Account.objects.filter(pk__in=nets).values_list("pk", "kind"))
    return {pk: net if kinds[pk] in Account.DEBIT_NORMAL else -net for pk, net in nets.items()}


def kind_total(kind: str, *, currency: str, as_of: date | None = None) -> int:
    """The sum of the balances of every account of ``kind`` in ``currency`` (e.g. all client trust ledgers)."""
    lines = _lines(None, as_of).filter(account__kind=kind, currency=currency)
    net = int(lines.aggregate(net=Sum(F("debit_minor") - F("credit_minor")))["net"] or 0)
    return net if kind in Account.DEBIT_NORMAL else -net


def entries_for_account(account: Account) -> QuerySet[JournalEntry]:
    return JournalEntry.objects.filter(lines__account=account).distinct().order_by("occurred_on", "id")


def unbalanced_entries() -> list[int]:
    """Ids of entries whose debits and credits differ in some currency (always empty; used by tests)."""
    rows = (
        JournalLine.objects.values("entry_id", "currency")
        .annotate(net=Sum(F("debit_minor") - F("credit_minor")))
        .exclude(net=0)
        .order_by()
    )
    return sorted({row["entry_id"] for row in rows})
