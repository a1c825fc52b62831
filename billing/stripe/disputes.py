"""Card disputes (chargebacks) on online payments: opened, then closed won or lost.

``dispute_created``: Stripe has taken the amount back from the account it was
charged on. Trust: that client's trust ledger gives back what it holds of the
payment, never more (never a negative balance, never another client's money);
what the client no longer holds is a loss of the firm (operating expense) and a
replenishment task to deposit it from operating into trust. Invoice: revenue
gives it back. Stripe's dispute fee is an operating expense (``billing.stripe.fees``;
billed to the platform for a trust charge).

``dispute_closed``: won, the money returns to the books it came from, in the
same two parts (that client's trust ledger for what it gave, the firm's loss
reversed for the rest; revenue for an invoice); lost, it stays out. A close
seen before its opening posts the opening first.
"""

from __future__ import annotations

from typing import Any

from billing.ledger.accounts import account_for
from billing.ledger.models import Account
from billing.ledger.selectors import line_balance
from billing.ledger.services import Line, journal_post
from billing.money import Money
from billing.stripe.fees import dispute_fees, fee_post
from billing.stripe.models import OnlinePayment, PlatformFee
from billing.trust.models import BillingTask
from core.audit.actions import AuditAction
from core.audit.services import audit_record

Kind = Account.Kind
Outcome = OnlinePayment.DisputeOutcome


def dispute_created(payment: OnlinePayment, obj: dict[str, Any]) -> str:
    if payment.status == OnlinePayment.Status.STARTED:
        return "later"
    if payment.disputed_minor:
        return "duplicate"  # one dispute per charge at Stripe
    disputed = min(int(obj.get("amount") or 0), payment.amount_minor - payment.refunded_minor)
    if disputed <= 0:
        return "duplicate"
    amount = Money(disputed, payment.currency)
    held = disputed
    if payment.purpose == OnlinePayment.Purpose.INVOICE:
        lines = [
            Line.debit(account_for(Kind.REVENUE, currency=amount.currency), amount),
            Line.credit(account_for(Kind.OPERATING_BANK, currency=amount.currency), amount),
        ]
    else:
        client_trust = _client_trust(payment)
        held = max(0, min(line_balance(client_trust).minor, disputed))
        lines = [Line.credit(account_for(Kind.TRUST_BANK, currency=amount.currency), amount)]
        if held:
            lines.append(Line.debit(client_trust, Money(held, amount.currency)))
        if disputed - held:
            short = Money(disputed - held, amount.currency)
            lines.append(Line.debit(account_for(Kind.PROCESSOR_FEES, currency=amount.currency), short))
            _replenish_task(payment, amount=amount, held=Money(held, amount.currency), short=short, dispute=obj)
    journal_post(
        kind="payment.dispute",
        lines=lines,
        memo=f"Card dispute {obj.get('id')} ({obj.get('reason') or 'no reason given'}) on {payment.payment_intent_id}",
        by=None,
        source=payment,
    )
    for fee in dispute_fees(obj):
        fee_post(payment, kind=PlatformFee.Kind.DISPUTE, fee=fee)
    payment.disputed_minor = disputed
    payment.dispute_held_minor = held
    payment.status = OnlinePayment.Status.DISPUTED
    payment.save(update_fields=["disputed_minor", "dispute_held_minor", "status"])
    return "applied"


def dispute_closed(payment: OnlinePayment, obj: dict[str, Any]) -> str:
    if payment.status == OnlinePayment.Status.STARTED:
        return "later"
    if payment.dispute_outcome:
        return "duplicate"
    if str(obj.get("status")) not in ("won", "lost"):
        return "ignored"  # e.g. an inquiry closed with a warning: no money moved
    if not payment.disputed_minor and dispute_created(payment, obj) != "applied":
        return "duplicate"  # nothing was (or could be) taken: nothing to give back
    if obj["status"] == "lost":
        payment.dispute_outcome = Outcome.LOST
        payment.save(update_fields=["dispute_outcome"])
        return "applied"
    amount = Money(payment.disputed_minor, payment.currency)
    if payment.purpose == OnlinePayment.Purpose.INVOICE:
        lines = [
            Line.debit(account_for(Kind.OPERATING_BANK, currency=amount.currency), amount),
            Line.credit(account_for(Kind.REVENUE, currency=amount.currency), amount),
        ]
    else:
        held = Money(payment.dispute_held_minor, amount.currency)
        lines = [Line.debit(account_for(Kind.TRUST_BANK, currency=amount.currency), amount)]
        if held:
            lines.append(Line.credit(_client_trust(payment), held))
        if amount - held:
            lines.append(Line.credit(account_for(Kind.PROCESSOR_FEES, currency=amount.currency), amount - held))
    journal_post(
        kind="payment.dispute.won",
        lines=lines,
        memo=f"Card dispute {obj.get('id')} won on {payment.payment_intent_id}: the money is back",
        by=None,
        source=payment,
    )
    payment.dispute_outcome = Outcome.WON
    payment.status = (
        OnlinePayment.Status.REFUNDED
        if payment.refunded_minor == payment.amount_minor
        else OnlinePayment.Status.SUCCEEDED
    )
    payment.save(update_fields=["dispute_outcome", "status"])
    return "applied"


def _client_trust(payment: OnlinePayment) -> Account:
    opened = account_for(Kind.CLIENT_TRUST, client=payment.client, matter=payment.matter)
    return Account.objects.select_for_update(no_key=True).get(pk=opened.pk)


def _replenish_task(
    payment: OnlinePayment, *, amount: Money, held: Money, short: Money, dispute: dict[str, Any]
) -> None:
    """The firm's task to cover from operating what a trust dispute took beyond what the client held."""
    task = BillingTask.objects.create(
        kind=BillingTask.Kind.TRUST_REPLENISH,
        client=payment.client,
        matter=payment.matter,
        message=f"A card dispute took {amount.format()} from the trust account for {payment.matter.reference}; "
        f"the client held {held.format()} of it. Deposit {short.format()} from operating into trust.",
    )
    audit_record(
        AuditAction.TRUST_LOW_BALANCE,
        target=task,
        data={"matter": payment.matter.reference, "short_minor": short.minor, "dispute": dispute.get("id")},
    )
