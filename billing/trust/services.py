"""Writes on client trust money: deposits, clearing them, and paying an invoice from trust.

Rules (SPEC §7):

* Money received for a client goes to trust (Dr trust bank, Cr client trust
  liability), never to operating.
* Money leaves a client's trust only up to that client-matter's *cleared*
  funds on the day (``billing.trust.selectors.cleared_funds``, from the lines).
  Every service is a ``@money_transaction`` (the lock order of ``billing/locks.py``:
  the audit chain head first, then the request, then the client-matter trust
  account), so concurrent outflows queue and none overdraws or deadlocks.
* A deposit is dated the day it was received, never later than today, and clears
  on or after that day; its amount and currency are checked (``billing.inputs``).
* Disbursements and refunds wait for approval (``billing.trust.requests``).
* A trust balance that drops below ``TrustSettings.low_balance`` opens a
  task (one open task per client-matter) and an audit entry.

Amounts are ``Money``; the firm's currency is ``FirmSettings.currency``.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Protocol

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from billing.inputs import check_amount, check_business_date, refuse
from billing.ledger.accounts import account_for
from billing.ledger.models import Account, JournalEntry
from billing.ledger.selectors import line_balance
from billing.ledger.services import Line, check_open, journal_post
from billing.locks import money_transaction
from billing.money import Money
from billing.trust.models import BillingTask, TrustDeposit, TrustSettings
from billing.trust.selectors import cleared_funds
from core.audit.actions import AuditAction
from core.audit.services import audit_record
from core.models import Matter, User
from core.webhooks import event_emit

Kind = Account.Kind


class InsufficientTrustFunds(ValidationError):
    """The client-matter's cleared trust funds do not cover the amount."""


class InvoiceLike(Protocol):
    """What ``trust_apply_to_invoice`` needs of an invoice: whose it is and its currency."""

    @property
    def pk(self) -> Any: ...

    @property
    def client(self) -> User: ...

    @property
    def matter(self) -> Matter: ...

    @property
    def currency(self) -> str: ...


def check_owner(client: User, matter: Matter) -> None:
    if matter.client_id != client.pk:
        raise refuse("matter", "The matter belongs to another client.")


def _check_cleared_on(cleared_on: date, *, received_on: date) -> None:
    """Funds clear on or after the day they are received, and not before the bank has cleared them (today)."""
    check_business_date(cleared_on, field="cleared_on")
    if cleared_on < received_on:
        raise refuse("cleared_on", "Funds cannot clear before they are received; check the dates.")


def take_from_trust(*, client: User, matter: Matter, amount: Money) -> Account:
    """Lock the client-matter trust account (no key) and check its cleared funds today cover ``amount``."""
    opened = account_for(Kind.CLIENT_TRUST, client=client, matter=matter, currency=amount.currency)
    account = Account.objects.select_for_update(no_key=True).get(pk=opened.pk)
    available = cleared_funds(account=account, on=timezone.localdate())
    if amount > available:
        raise InsufficientTrustFunds(
            {"amount": [f"Only {available.format()} of cleared trust funds are available for this matter."]}
        )
    return account


def flag_low_balance(*, account: Account, by: User | None) -> None:
    threshold = TrustSettings.load().low_balance_minor
    remaining = line_balance(account)
    if remaining.minor >= threshold or account.client is None:
        return
    open_task = BillingTask.objects.filter(
        kind=BillingTask.Kind.LOW_TRUST_BALANCE, client=account.client, matter=account.matter, done_at__isnull=True
    )
    if open_task.exists():
        return
    reference = account.matter.reference if account.matter is not None else "-"
    task = BillingTask.objects.create(
        kind=BillingTask.Kind.LOW_TRUST_BALANCE,
        client=account.client,
        matter=account.matter,
        message=f"Trust balance for matter {reference} is low ({remaining.format()}); "
        "ask the client for a new retainer.",
    )
    audit_record(
        AuditAction.TRUST_LOW_BALANCE,
        actor=by,
        target=task,
        data={"account": account.name, "balance_minor": remaining.minor, "threshold_minor": threshold},
    )
    event_emit(
        type="trust.low_balance",
        data={
            "matter": account.matter_id,
            "reference": None if account.matter is None else account.matter.reference,
            "client": account.client_id,
            "balance_minor": remaining.minor,
            "threshold_minor": threshold,
            "currency": remaining.currency,
        },
    )


@money_transaction
def trust_deposit(
    *,
    client: User,
    matter: Matter,
    amount: Money,
    method: str,
    by: User,
    reference: str = "",
    received_on: date | None = None,
    cleared_on: date | None = None,
) -> TrustDeposit:
    """Record money received into trust for ``matter`` (cash clears on receipt; others when ``cleared_on``)."""
    check_owner(client, matter)
    amount = check_amount(amount)
    if method not in TrustDeposit.Method.values:
        raise refuse("method", f"Unknown payment method {str(method)[:20]!r}.")
    received_on = check_business_date(received_on or timezone.localdate(), field="received_on")
    check_open(received_on, currency=amount.currency, field="received_on")
    if cleared_on is None and method == TrustDeposit.Method.CASH:
        cleared_on = received_on
    if cleared_on is not None:
        _check_cleared_on(cleared_on, received_on=received_on)
    deposit = TrustDeposit.objects.create(
        client=client,
        matter=matter,
        amount_minor=amount.minor,
        currency=amount.currency,
        method=method,
        reference=reference,
        received_on=received_on,
        cleared_on=cleared_on,
        recorded_by=by,
    )
    deposit.entry = journal_post(
        kind="trust.deposit",
        lines=[
            Line.debit(account_for(Kind.TRUST_BANK, currency=amount.currency), amount),
            Line.credit(account_for(Kind.CLIENT_TRUST, client=client, matter=matter, currency=amount.currency), amount),
        ],
        memo=f"Retainer received by {method} for {matter.reference}" + (f" ({reference})" if reference else ""),
        by=by,
        source=deposit,
        occurred_on=received_on,
    )
    deposit.save(update_fields=["entry"])
    audit_record(
        AuditAction.TRUST_DEPOSIT,
        actor=by,
        target=deposit,
        data={
            "matter": matter.reference,
            "amount_minor": amount.minor,
            "currency": amount.currency,
            "method": method,
        },
    )
    event_emit(
        type="trust.deposited",
        data={
            "deposit": deposit.pk,
            "matter": matter.pk,
            "reference": matter.reference,
            "client": client.pk,
            "amount_minor": amount.minor,
            "currency": amount.currency,
            "method": method,
            "cleared": cleared_on is not None,
        },
    )
    return deposit


@money_transaction
def trust_deposit_clear(*, deposit: TrustDeposit, cleared_on: date, by: User) -> TrustDeposit:
    """Mark a deposit's funds as cleared by the bank, making them available to disburse."""
    deposit = TrustDeposit.objects.select_for_update(of=("self",)).get(pk=deposit.pk)
    _check_cleared_on(cleared_on, received_on=deposit.received_on)
    deposit.cleared_on = cleared_on
    deposit.save(update_fields=["cleared_on"])
    audit_record(AuditAction.TRUST_DEPOSIT_CLEAR, actor=by, target=deposit, data={"cleared_on": cleared_on.isoformat()})
    return deposit


@money_transaction
def trust_apply_to_invoice(
    *, invoice_like: InvoiceLike, amount: Money, by: User | None, occurred_on: date | None = None
) -> JournalEntry:
    """Pay earned fees on an issued invoice from the client's trust funds for its matter.

    One entry: the money leaves trust (Dr client trust, Cr trust bank), arrives in
    operating (Dr operating bank) and settles the receivable (Cr receivable).
    """
    client, matter, currency = invoice_like.client, invoice_like.matter, invoice_like.currency
    amount = check_amount(amount, currency=currency)
    check_owner(client, matter)
    client_trust = take_from_trust(client=client, matter=matter, amount=amount)
    entry = journal_post(
        kind="trust.apply",
        lines=[
            Line.debit(client_trust, amount),
            Line.credit(account_for(Kind.TRUST_BANK, currency=currency), amount),
            Line.debit(account_for(Kind.OPERATING_BANK, currency=currency), amount),
            Line.credit(account_for(Kind.RECEIVABLE, client=client, matter=matter, currency=currency), amount),
        ],
        memo=f"Earned fees paid from trust for {matter.reference}",
        by=by,
        source=invoice_like if isinstance(invoice_like, models.Model) else None,
        occurred_on=occurred_on,
    )
    audit_record(
        AuditAction.TRUST_APPLY,
        actor=by,
        target=invoice_like if isinstance(invoice_like, models.Model) else entry,
        data={"matter": matter.reference, "amount_minor": amount.minor, "currency": currency, "entry": entry.pk},
    )
    flag_low_balance(account=client_trust, by=by)
    return entry
