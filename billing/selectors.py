"""Reads about one client's money and books that other parts of Portico ask billing for.

``client_money_held`` and ``client_records_kept`` answer the erasure of a client
(``tenants.lifecycle.erasure``): refused while the firm holds money for them,
and the records the law makes the firm keep, counted for the operator. Run
inside the firm's schema.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from billing.credit_notes.models import CreditNote
from billing.invoices.models import Invoice, Payment
from billing.ledger.models import Account, JournalEntry
from billing.ledger.selectors import balances_by_account
from billing.money import Money
from billing.trust.models import TrustDeposit
from core.models import Matter, User

MONEY_HELD = (Account.Kind.CLIENT_TRUST, Account.Kind.CLIENT_CREDIT)


@dataclass(frozen=True)
class MoneyHeld:
    amount: Money
    account: str  # "client trust", "client credit"
    matter_reference: str | None

    def __str__(self) -> str:
        on_matter = f" on matter {self.matter_reference}" if self.matter_reference else ""
        return f"{self.amount} in {self.account}{on_matter}"


def client_money_held(*, client: User) -> list[MoneyHeld]:
    """Every non-zero trust or client-credit balance the firm holds for ``client``."""
    accounts = Account.objects.filter(client=client, kind__in=MONEY_HELD).select_related("matter")
    balances = balances_by_account(accounts=accounts)
    return [
        MoneyHeld(
            amount=balances[account.pk],
            account=account.get_kind_display().lower(),
            matter_reference=account.matter.reference if account.matter else None,
        )
        for account in accounts
        if account.pk in balances and balances[account.pk].minor
    ]


def client_records_kept(*, client: User) -> dict[str, int]:
    """How many of the client's billing records exist: invoices, payments, credit notes, deposits, entries."""
    matters = Matter.objects.filter(client=client)
    entries = JournalEntry.objects.filter(Q(lines__account__client=client) | Q(lines__account__matter__in=matters))
    return {
        "invoices": Invoice.objects.filter(client=client).count(),
        "payments": Payment.objects.filter(invoice__client=client).count(),
        "credit_notes": CreditNote.objects.filter(matter__in=matters).count(),
        "trust_deposits": TrustDeposit.objects.filter(client=client).count(),
        "journal_entries": entries.distinct().count(),
    }
