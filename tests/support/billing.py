"""Helpers for the invoice and ledger tests: drafting and issuing an invoice on the cast's matters, balances."""

from __future__ import annotations

from billing.fees.models import FeeTemplate
from billing.invoices.models import Invoice
from billing.invoices.services import invoice_add_fee, invoice_create, invoice_issue
from billing.ledger.accounts import account_for
from billing.ledger.models import Account
from billing.ledger.selectors import balance
from billing.money import Money
from core.models import Matter, User


def template(code: str) -> FeeTemplate:
    return FeeTemplate.objects.get(code=code)


def draft(matter: Matter, by: User, *codes: str) -> Invoice:
    invoice = invoice_create(matter=matter, by=by)
    for code in codes:
        invoice_add_fee(invoice=invoice, template=template(code))
    invoice.refresh_from_db()
    return invoice


def issued(matter: Matter, by: User, *codes: str) -> Invoice:
    return invoice_issue(invoice=draft(matter, by, *codes), by=by)


def receivable(matter: Matter) -> Money:
    return balance(account_for(Account.Kind.RECEIVABLE, matter=matter))


def firm_balance(kind: str, **owner: object) -> Money:
    return balance(account_for(kind, **owner))  # type: ignore[arg-type]
