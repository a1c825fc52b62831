"""Stripe's processing fees: read from a charge's (or a dispute's) balance transaction, posted once.

Operating account: the account pays its own fees, so the fee is an operating
expense taken from the operating bank. Trust account: the fee is billed to the
platform (``controller.fees.payer="application"``) and never taken from trust;
it is an operating expense owed to the platform (``platform_payable``), one
``PlatformFee`` row each, and the month's rows are the itemised fee statement
the firm's operating side repays (``fee_statement``, the staff page and CSV in
``portal.views.billing_fee_statement``). A firm admin records the repayment
(``fee_statement_repay``): the month's total moves from ``platform_payable`` out of
the operating bank, once per month and currency. A trust line is never touched here.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.ledger.accounts import account_for
from billing.ledger.models import Account
from billing.ledger.services import Line, journal_post
from billing.locks import money_transaction
from billing.money import Money
from billing.stripe.models import FeeStatementRepayment, OnlinePayment, PlatformFee
from core.audit.actions import AuditAction
from core.audit.services import audit_record
from core.models import User

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


def fee_statement_repayments(*, month: date) -> QuerySet[FeeStatementRepayment]:
    first, _following = month_bounds(month)
    return FeeStatementRepayment.objects.filter(month=first).select_related("repaid_by", "entry")


@money_transaction
def fee_statement_repay(*, month: date, currency: str, by: User) -> FeeStatementRepayment:
    """Record that the operating side repaid the platform the month's fees in ``currency``: posted once, audited."""
    first, following = month_bounds(month)
    if first > timezone.localdate():
        raise ValidationError(_("A month that has not begun has no fees to repay."))
    fees = list(
        PlatformFee.objects.select_for_update(of=("self",))
        .filter(incurred_on__gte=first, incurred_on__lt=following, currency=currency)
        .order_by("id")
    )
    if FeeStatementRepayment.objects.filter(month=first, currency=currency).exists():
        raise ValidationError(
            _("The %(month)s fee statement in %(currency)s is already recorded as repaid.")
            % {"month": f"{first:%Y-%m}", "currency": currency}
        )
    if not fees:
        raise ValidationError(
            _("No fees in %(currency)s were billed to the platform in %(month)s: nothing to repay.")
            % {"month": f"{first:%Y-%m}", "currency": currency}
        )
    total = Money(sum(fee.amount_minor for fee in fees), currency)
    entry = journal_post(
        kind="payment.fee.platform.repaid",
        lines=[
            Line.debit(account_for(Kind.PLATFORM_PAYABLE, currency=currency), total),
            Line.credit(account_for(Kind.OPERATING_BANK, currency=currency), total),
        ],
        memo=f"Fee statement {first:%Y-%m} repaid to the platform from operating ({len(fees)} fees)",
        by=by,
    )
    repayment = FeeStatementRepayment.objects.create(
        month=first, currency=currency, amount_minor=total.minor, fee_count=len(fees), entry=entry, repaid_by=by
    )
    audit_record(
        AuditAction.STRIPE_FEE_STATEMENT_REPAID,
        actor=by,
        target=repayment,
        data={
            "month": f"{first:%Y-%m}",
            "currency": currency,
            "total_minor": total.minor,
            "fees": len(fees),
            "entry": entry.pk,
        },
    )
    return repayment
