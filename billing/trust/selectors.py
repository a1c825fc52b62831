"""Reads on client trust money: balances, cleared funds, the client ledger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import F, Q, QuerySet, Sum

from billing.access import client_for_billing, matter_for_billing
from billing.ledger.models import Account, JournalLine
from billing.money import Money
from billing.trust.models import TrustDeposit, TrustRequest
from core.access import Person
from core.models import Matter, User


def _uncleared(*, account: Account, on: date) -> tuple[int, int]:
    """Deposits to this account the bank had not cleared by ``on``: (those received by ``on``, all of them)."""
    deposits = TrustDeposit.objects.filter(client_id=account.client_id, currency=account.currency).exclude(
        cleared_on__lte=on
    )
    # A client trust account without a matter holds the client's deposits on every matter.
    if account.matter_id is not None:
        deposits = deposits.filter(matter_id=account.matter_id)
    totals = deposits.aggregate(received=Sum("amount_minor", filter=Q(received_on__lte=on)), all=Sum("amount_minor"))
    return int(totals["received"] or 0), int(totals["all"] or 0)


def cleared_funds(*, account: Account, on: date) -> Money:
    """What may leave this client-matter trust account on ``on``, from its lines alone.

    The balance as of ``on`` less deposits received by then but not cleared by
    then; and never more than the whole balance (later lines included) less every
    deposit not cleared by ``on``, so money dated after the day, or an outflow
    dated later, is not spent twice. Summed from the journal lines, not the
    monthly totals, so an edited total cannot make money spendable.
    """
    if account.kind != Account.Kind.CLIENT_TRUST or account.client_id is None:
        raise ValueError("cleared funds are a client trust account's")
    net = F("credit_minor") - F("debit_minor")
    held = JournalLine.objects.filter(account=account).aggregate(
        through=Sum(net, filter=Q(occurred_on__lte=on)), overall=Sum(net)
    )
    received_uncleared, all_uncleared = _uncleared(account=account, on=on)
    through_day = int(held["through"] or 0) - received_uncleared
    overall = int(held["overall"] or 0) - all_uncleared
    return Money(max(0, min(through_day, overall)), account.currency)


def matter_for_ledger(user: Person, matter_id: object) -> Matter:
    """The matter whose trust ledger ``user`` asks for (``billing.access.matter_for_billing``)."""
    return matter_for_billing(user, matter_id)


def client_for_ledger(user: Person, client_id: object) -> User:
    """The client whose trust ledgers billing staff ask for (``billing.access.client_for_billing``)."""
    return client_for_billing(user, client_id)


def trust_accounts(*, client: User | None = None, matter: Matter | None = None) -> QuerySet[Account]:
    accounts = Account.objects.filter(kind=Account.Kind.CLIENT_TRUST).select_related("client", "matter")
    if client is not None:
        accounts = accounts.filter(client=client)
    if matter is not None:
        accounts = accounts.filter(matter=matter)
    return accounts


def pending_requests() -> QuerySet[TrustRequest]:
    return (
        TrustRequest.objects.filter(status=TrustRequest.Status.PENDING)
        .select_related("client", "matter", "requested_by")
        .prefetch_related("approvals__approver")
    )


@dataclass(frozen=True)
class LedgerRow:
    occurred_on: date
    entry_id: int
    kind: str
    memo: str
    deposit: Money
    withdrawal: Money
    balance: Money


def client_ledger(*, account: Account, start: date | None = None, end: date | None = None) -> list[LedgerRow]:
    """Every movement on one client-matter trust account with the running balance (the client ledger report)."""
    lines = (
        JournalLine.objects.filter(account=account).select_related("entry").order_by("occurred_on", "entry_id", "id")
    )
    running = 0
    if start is not None:
        running = -sum(
            line.debit_minor - line.credit_minor
            for line in lines.filter(occurred_on__lt=start).only("debit_minor", "credit_minor")
        )
        lines = lines.filter(occurred_on__gte=start)
    if end is not None:
        lines = lines.filter(occurred_on__lte=end)
    rows: list[LedgerRow] = []
    for line in lines:
        running += line.credit_minor - line.debit_minor
        rows.append(
            LedgerRow(
                occurred_on=line.occurred_on,
                entry_id=line.entry_id,
                kind=line.entry.kind,
                memo=line.entry.memo,
                deposit=Money(line.credit_minor, account.currency),
                withdrawal=Money(line.debit_minor, account.currency),
                balance=Money(running, account.currency),
            )
        )
    return rows
