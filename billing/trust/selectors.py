"""Reads on client trust money: balances, cleared funds, the client ledger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import QuerySet, Sum

from billing.access import client_for_billing, matter_for_billing
from billing.ledger.models import Account, JournalLine
from billing.ledger.selectors import balance
from billing.trust.models import TrustDeposit, TrustRequest
from core.models import Matter, User


def uncleared_deposits(*, client_id: int, matter_id: int | None, currency: str, on: date) -> int:
    """Deposits received up to ``on`` that the bank had not cleared by ``on`` (minor units)."""
    deposits = TrustDeposit.objects.filter(client_id=client_id, currency=currency, received_on__lte=on).exclude(
        cleared_on__lte=on
    )
    if matter_id is not None:
        deposits = deposits.filter(matter_id=matter_id)
    return int(deposits.aggregate(total=Sum("amount_minor"))["total"] or 0)


def cleared_funds(*, account: Account, on: date) -> int:
    """What may leave this client-matter trust account today: its balance less uncleared deposits."""
    if account.kind != Account.Kind.CLIENT_TRUST or account.client_id is None:
        raise ValueError("cleared funds are a client trust account's")
    held = balance(account)
    pending = uncleared_deposits(
        client_id=account.client_id, matter_id=account.matter_id, currency=account.currency, on=on
    )
    return max(0, held - pending)


def matter_for_ledger(user: Any, matter_id: int) -> Matter:
    """The matter whose trust ledger ``user`` asks for (``billing.access.matter_for_billing``)."""
    return matter_for_billing(user, matter_id)


def client_for_ledger(user: Any, client_id: int) -> User:
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
    deposit_minor: int
    withdrawal_minor: int
    balance_minor: int


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
                deposit_minor=line.credit_minor,
                withdrawal_minor=line.debit_minor,
                balance_minor=running,
            )
        )
    return rows
