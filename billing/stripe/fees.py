"""Stripe's processing fees: read from a charge's (or a dispute's) balance transaction, posted once.

Operating account: the account pays its own fees, so the fee is an operating
expense taken from the operating bank. Trust account: the fee is billed to the
platform (``controller.fees.payer="application"``) and never taken from trust;
it is an operating expense owed to the platform (``platform_payable``), one
``PlatformFee`` row each, and the month's rows are the itemised fee statement
the firm's operating side repays (``fee_statement``, the staff page and CSV in
``portal.views.billing_fee_statement``). A trust line is never touched here.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from billing.ledger.accounts import account_for
from billing.ledger.models import Account
from billing.ledger.services import Line, journal_post
from billing.money import Money
from billing.stripe.models import OnlinePayment, PlatformFee

Kind = Account.Kind


@dataclass(frozen=True)
class Fee:
    fee_minor: int
    balance_transaction_id: str


def _fee(transaction: object) -> Fee | None:
    if not isinstance(transaction, dict):
        return None  # not expanded: the fee is unknown from this object alone
    return Fee(fee_minor=int(transaction.get("fee") or 0), balance_transaction_id=str(transaction.get("id") or ""))


def charge_fee(obj: dict[str, Any]) -> Fee | None:
    """The fee of a PaymentIntent's latest charge, or of a charge; None when its balance transaction is not expanded."""
    charge = obj.get("latest_charge") if obj.get("object") == "payment_intent" else obj
    if not isinstance(charge, dict):
        return None
    return _fee(charge.get("balance_transaction"))


def dispute_fees(obj: dict[str, Any]) -> list[Fee]:
    """The fees on a dispute's balance transactions (Stripe's dispute fee), each once."""
    found = [_fee(t) for t in obj.get("balance_transactions") or []]
    return [fee for fee in found if fee is not None and fee.fee_minor > 0]


def fee_post(payment: OnlinePayment, *, kind: str, fee: Fee) -> None:
    """Post ``fee`` as an operating expense: from the operating bank, or owed to the platform for a trust charge."""
    amount = Money(fee.fee_minor, payment.currency)
    expense = account_for(Kind.PROCESSOR_FEES, currency=amount.currency)
    what = "Dispute fee" if kind == PlatformFee.Kind.DISPUTE else "Card processing fee"
    if payment.account_kind == "operating":
        journal_post(
            kind="payment.fee",
            lines=[
                Line.debit(expense, amount),
                Line.credit(account_for(Kind.OPERATING_BANK, currency=amount.currency), amount),
            ],
            memo=f"{what} on {payment.payment_intent_id} ({fee.balance_transaction_id})",
            by=None,
            source=payment,
        )
        if kind == PlatformFee.Kind.CHARGE:
            payment.fee_minor = fee.fee_minor
            payment.save(update_fields=["fee_minor"])
        return
    if (
        fee.balance_transaction_id
        and PlatformFee.objects.filter(balance_transaction_id=fee.balance_transaction_id).exists()
    ):
        return  # owed once
    entry = journal_post(
        kind="payment.fee.platform",
        lines=[
            Line.debit(expense, amount),
            Line.credit(account_for(Kind.PLATFORM_PAYABLE, currency=amount.currency), amount),
        ],
        memo=f"{what} on trust charge {payment.payment_intent_id}, billed to the platform "
        f"({fee.balance_transaction_id})",
        by=None,
        source=payment,
    )
    PlatformFee.objects.create(
        payment=payment,
        kind=kind,
        balance_transaction_id=fee.balance_transaction_id or f"{payment.payment_intent_id}:{kind}",
        amount_minor=amount.minor,
        currency=amount.currency,
        incurred_on=timezone.localdate(),
        entry=entry,
    )
    if kind == PlatformFee.Kind.CHARGE:
        payment.fee_minor = fee.fee_minor
        payment.save(update_fields=["fee_minor"])


def month_bounds(month: date) -> tuple[date, date]:
    """The first day of ``month`` and of the month after it."""
    first = month.replace(day=1)
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first, following


def fee_statement(*, month: date) -> QuerySet[PlatformFee]:
    """The month's fees billed to the platform for trust charges: what the firm's operating side repays."""
    first, following = month_bounds(month)
    return (
        PlatformFee.objects.filter(incurred_on__gte=first, incurred_on__lt=following)
        .select_related("payment", "payment__client", "payment__matter")
        .order_by("incurred_on", "id")
    )


def fee_statement_csv(rows: QuerySet[PlatformFee]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["date", "kind", "matter", "payment_intent", "balance_transaction", "amount", "currency"])
    for fee in rows:
        writer.writerow(
            [
                fee.incurred_on.isoformat(),
                fee.kind,
                fee.payment.matter.reference,
                fee.payment.payment_intent_id,
                fee.balance_transaction_id,
                str(fee.amount.as_decimal()),
                fee.currency,
            ]
        )
    return out.getvalue()
