"""The firm's chart of accounts, opened on first use: ``account_for(kind, client=..., matter=...)``.

Firm-wide accounts (operating bank, trust bank, revenue, processor fees,
write-offs) have no client; client trust liability, receivables and client
credit belong to a client and, usually, one of their matters. Revenue may be
split per billing code. Accounts are per currency; the default currency is the
firm's currency (``core.models.FirmSettings.currency``).
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from billing.ledger.models import Account
from core.models import FirmSettings, Matter, User

Kind = Account.Kind

_NAMES: dict[str, str] = {
    Kind.OPERATING_BANK: "assets:operating bank",
    Kind.TRUST_BANK: "assets:trust bank",
    Kind.CLIENT_TRUST: "liabilities:client trust",
    Kind.RECEIVABLE: "assets:receivable",
    Kind.REVENUE: "income:fees",
    Kind.PROCESSOR_FEES: "expenses:processor fees",
    Kind.WRITE_OFFS: "expenses:write-offs",
    Kind.CLIENT_CREDIT: "liabilities:client credit",
    Kind.PLATFORM_PAYABLE: "liabilities:platform fees",
}


def default_currency() -> str:
    """The firm's currency, from the firm's own settings."""
    return FirmSettings.load().currency


def account_name(kind: str, *, client: User | None, matter: Matter | None, billing_code: str, currency: str) -> str:
    """A readable, hledger-safe account name (colon-separated, no double spaces)."""
    parts = [_NAMES[kind]]
    if client is not None:
        parts.append(f"client {client.pk}")
    if matter is not None:
        parts.append(f"matter {matter.reference}")
    if billing_code:
        parts.append(billing_code)
    parts.append(currency)
    return ":".join(" ".join(part.split()) for part in parts)


def account_for(
    kind: str,
    *,
    client: User | None = None,
    matter: Matter | None = None,
    billing_code: str = "",
    currency: str | None = None,
) -> Account:
    """The account of ``kind`` for this owner, created the first time it is asked for."""
    if kind not in Kind.values:
        raise ValueError(f"unknown account kind {kind!r}")
    if matter is not None and client is None:
        client = matter.client
    if kind in Account.PER_CLIENT and client is None:
        raise ValueError(f"a {kind} account belongs to a client")
    if kind not in Account.PER_CLIENT and (client is not None or matter is not None):
        raise ValueError(f"a {kind} account belongs to the firm, not to a client")
    if billing_code and kind != Kind.REVENUE:
        raise ValueError("only revenue is split per billing code")
    if matter is not None and client is not None and matter.client_id != client.pk:
        raise ValueError("the matter belongs to another client")
    currency = currency or default_currency()
    lookup = {
        "kind": kind,
        "currency": currency,
        "client": client,
        "matter": matter,
        "billing_code": billing_code,
    }
    found = Account.objects.filter(**lookup).first()
    if found is not None:
        return found
    name = account_name(kind, client=client, matter=matter, billing_code=billing_code, currency=currency)
    try:
        with transaction.atomic():
            return Account.objects.create(name=name, **lookup)
    except IntegrityError:  # opened concurrently by someone else
        return Account.objects.get(**lookup)
