"""Signed Stripe events applied to the firm's books, each exactly once.

``event_route`` finds the firm holding the event's connected account (public
schema); ``event_apply`` runs in that firm's schema and, in one transaction,
records the event id under a unique constraint and posts its effect: a
replayed event finds its id and changes nothing. An event that does not match
what Portico started (another account than the payment's, another amount) is
recorded, audited as refused, and posts nothing. An event that depends on one
not seen yet (a refund or a dispute before the payment's success) raises
``RetryLater``: its transaction, event id included, rolls back and the endpoint
answers non-2xx, so Stripe sends it again.

Handled: ``payment_intent.succeeded`` (an invoice payment into operating, a
retainer into the client's trust ledger), ``charge.refunded`` (the refunded
amount, counted from Stripe's cumulative ``amount_refunded``, so a reordered or
repeated refund event posts only what is new) and ``charge.dispute.created``
(the disputed amount leaves the books; from trust only what that client holds);
the ``checkout.session.*`` events and payments paid on Stripe's hosted page
are found and handled in ``checkout_events``. Other types are recorded and ignored.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from billing.events import online_payment_event
from billing.invoices.models import Invoice, Payment
from billing.invoices.services import _payment
from billing.ledger.accounts import account_for
from billing.ledger.models import Account
from billing.ledger.selectors import line_balance
from billing.ledger.services import Line, journal_post
from billing.locks import money_transaction
from billing.money import Money
from billing.stripe.checkout_events import payment_for_checkout, session_completed, session_expired
from billing.stripe.models import OnlinePayment, RetainerRequest, StripeEvent
from billing.trust.models import BillingTask, TrustDeposit
from billing.trust.services import trust_deposit
from core.audit.actions import AuditAction
from core.audit.services import audit_record
from tenants.current import current_firm
from tenants.models import StripeAccountRoute, Tenant

logger = logging.getLogger(__name__)
Kind = Account.Kind


class RetryLater(Exception):
    """The event came before one it depends on; nothing was recorded, so Stripe's retry applies it."""


def event_route(event: dict[str, Any]) -> Tenant | None:
    """The firm whose connected account the event is about (None: no firm holds it)."""
    account = event.get("account")
    if not isinstance(account, str) or not account:
        return None
    route = StripeAccountRoute.objects.select_related("tenant").filter(account_id=account).first()
    return route.tenant if route is not None else None


@money_transaction
def event_apply(event: dict[str, Any]) -> str:
    """Apply ``event`` in the current firm; answers what happened ("applied", "duplicate", "ignored", "refused")."""
    event_id, kind, account = str(event["id"]), str(event["type"]), str(event.get("account") or "")
    if StripeEvent.objects.filter(event_id=event_id).exists():
        return "duplicate"
    try:
        with transaction.atomic():
            record = StripeEvent.objects.create(event_id=event_id, type=kind[:64], account_id=account)
    except IntegrityError:  # the same event, committed by another worker meanwhile
        return "duplicate"
    handler = _HANDLERS.get(kind)
    if handler is None:
        return "ignored"
    obj = event["data"]["object"]
    intent_id = obj.get("payment_intent") if obj.get("object") in ("charge", "dispute") else obj.get("id")
    payment = (
        OnlinePayment.objects.select_for_update(of=("self",))
        .select_related("account")
        .filter(payment_intent_id=intent_id)
        .first()
    ) or payment_for_checkout(obj)
    if payment is None and _charge_being_recorded(obj):
        raise RetryLater(f"{kind} {event_id} arrived before its PaymentIntent id was saved")
    problem = _mismatch(payment, account=account, obj=obj)
    if payment is None or problem:
        audit_record(
            AuditAction.STRIPE_EVENT_REFUSED,
            target=payment,
            data={"event": event_id, "type": kind, "account": account, "problem": problem or "no such payment"},
        )
        logger.warning("stripe event %s refused: %s", event_id, problem or "no such payment")
        return "refused"
    record.payment = payment
    record.save(update_fields=["payment"])
    outcome = handler(payment, obj)
    if outcome == "later":
        raise RetryLater(f"{kind} {event_id} arrived before the payment's success")
    if outcome in ("applied", "refused"):
        audit_record(
            AuditAction.STRIPE_EVENT_APPLY if outcome == "applied" else AuditAction.STRIPE_EVENT_REFUSED,
            target=payment,
            data={
                "event": event_id,
                "type": kind,
                "account_kind": payment.account_kind,
                **({"problem": "the event does not match the payment's books"} if outcome == "refused" else {}),
            },
        )
    return outcome


def _charge_being_recorded(obj: dict[str, Any]) -> bool:
    """A PaymentIntent Portico created itself (its metadata names our payment row in this firm) whose id is
    not saved yet: an off-session installment's charge answers at once, and its event can come before the
    answer is recorded. (A Checkout page's PaymentIntent is claimed by its metadata instead.)"""
    metadata = obj.get("metadata") or {}
    ref = metadata.get("portico_payment") if obj.get("object") == "payment_intent" else None
    return (
        isinstance(ref, str)
        and ref.isdigit()
        and metadata.get("portico_firm") == current_firm().schema_name
        and OnlinePayment.objects.filter(
            pk=int(ref), payment_intent_id__isnull=True, checkout_session_id__isnull=True
        ).exists()
    )


def _mismatch(payment: OnlinePayment | None, *, account: str, obj: dict[str, Any]) -> str:
    if payment is None:
        return ""
    if payment.account.stripe_account_id != account:
        return f"the event is from account {account}, the payment was started on {payment.account.stripe_account_id}"
    if str(obj.get("currency", "")).upper() != payment.currency:
        return f"currency {obj.get('currency')!r} is not the payment's {payment.currency}"
    return ""


def _succeeded(payment: OnlinePayment, obj: dict[str, Any]) -> str:
    if payment.status != OnlinePayment.Status.STARTED:
        return "duplicate"  # another event about the same PaymentIntent posted it already
    received = obj.get("amount_received", obj.get("amount"))
    if received != payment.amount_minor:
        return "refused"
    amount, today = payment.amount, timezone.localdate()
    if payment.purpose == OnlinePayment.Purpose.INVOICE:
        assert payment.invoice_id is not None
        invoice = Invoice.objects.select_for_update(of=("self",)).get(pk=payment.invoice_id)
        posted = _payment(
            invoice,
            method=Payment.Method.ONLINE,
            amount_minor=amount.minor,
            received_on=today,
            reference=str(payment.payment_intent_id),
            by=None,
            debit=account_for(Kind.OPERATING_BANK, currency=amount.currency),
            kind="invoice.payment.online",
        )
        payment.entry = posted.entry
    else:
        assert payment.retainer_id is not None
        retainer = RetainerRequest.objects.select_for_update(of=("self",)).get(pk=payment.retainer_id)
        # Card money clears when Stripe's payout reaches the trust bank; billing staff clear it then.
        deposit = trust_deposit(
            client=payment.client,
            matter=payment.matter,
            amount=amount,
            method=TrustDeposit.Method.CARD,
            by=payment.client,
            reference=str(payment.payment_intent_id),
            received_on=today,
        )
        payment.entry = deposit.entry
        retainer.status = RetainerRequest.Status.PAID
        retainer.save(update_fields=["status"])
        online_payment_event("payment.succeeded", payment, purpose="retainer", amount_minor=amount.minor)
    payment.status = OnlinePayment.Status.SUCCEEDED
    payment.save(update_fields=["status", "entry", "payment_intent_id"])  # the id, when found by its metadata
    return "applied"


def _refunded(payment: OnlinePayment, obj: dict[str, Any]) -> str:
    if payment.status == OnlinePayment.Status.STARTED:
        return "later"  # a refund before the payment's success: rolled back, Stripe sends it again
    total = int(obj.get("amount_refunded") or 0)
    new = min(total, payment.amount_minor) - payment.refunded_minor
    if new <= 0:
        return "duplicate"
    amount = Money(new, payment.currency)
    if payment.purpose == OnlinePayment.Purpose.INVOICE:
        # The invoice stays as paid as it was; the fee given back reduces revenue (a paid invoice is final).
        assert payment.invoice is not None
        journal_post(
            kind="invoice.refund.online",
            lines=[
                Line.debit(account_for(Kind.REVENUE, currency=amount.currency), amount),
                Line.credit(account_for(Kind.OPERATING_BANK, currency=amount.currency), amount),
            ],
            memo=f"Card refund for {payment.invoice.display_number} ({payment.payment_intent_id})",
            by=None,
            source=payment,
        )
    else:
        client_trust = account_for(Kind.CLIENT_TRUST, client=payment.client, matter=payment.matter)
        client_trust = Account.objects.select_for_update(no_key=True).get(pk=client_trust.pk)
        if line_balance(client_trust) < amount:
            return "refused"  # never a negative client balance: staff resolve it with the firm
        journal_post(
            kind="trust.refund.online",
            lines=[
                Line.debit(client_trust, amount),
                Line.credit(account_for(Kind.TRUST_BANK, currency=amount.currency), amount),
            ],
            memo=f"Card refund of a retainer for {payment.matter.reference} ({payment.payment_intent_id})",
            by=None,
            source=payment,
        )
    payment.refunded_minor += new
    payment.refund_asked_minor = max(payment.refund_asked_minor, payment.refunded_minor)
    if payment.refunded_minor == payment.amount_minor:
        payment.status = OnlinePayment.Status.REFUNDED
    payment.save(update_fields=["refunded_minor", "refund_asked_minor", "status"])
    online_payment_event("payment.refunded", payment, amount_minor=new, refunded_minor=payment.refunded_minor)
    return "applied"


def _disputed(payment: OnlinePayment, obj: dict[str, Any]) -> str:
    """A chargeback: Stripe has taken the amount back from the account it was charged on.

    Trust: that client's trust ledger gives back what it holds of the payment, never
    more (never a negative balance, never another client's money); what the client
    no longer holds is a loss of the firm (operating expense) and a task to replenish
    the trust bank from operating. Invoice: revenue gives it back.
    """
    if payment.status == OnlinePayment.Status.STARTED:
        return "later"
    if payment.disputed_minor:
        return "duplicate"  # one dispute per charge at Stripe
    disputed = min(int(obj.get("amount") or 0), payment.amount_minor - payment.refunded_minor)
    if disputed <= 0:
        return "duplicate"
    amount = Money(disputed, payment.currency)
    fees = account_for(Kind.PROCESSOR_FEES, currency=amount.currency)
    if payment.purpose == OnlinePayment.Purpose.INVOICE:
        lines = [
            Line.debit(account_for(Kind.REVENUE, currency=amount.currency), amount),
            Line.credit(account_for(Kind.OPERATING_BANK, currency=amount.currency), amount),
        ]
    else:
        opened = account_for(Kind.CLIENT_TRUST, client=payment.client, matter=payment.matter)
        client_trust = Account.objects.select_for_update(no_key=True).get(pk=opened.pk)
        held = max(0, min(line_balance(client_trust).minor, disputed))
        short = disputed - held
        lines = [Line.credit(account_for(Kind.TRUST_BANK, currency=amount.currency), amount)]
        if held:
            lines.append(Line.debit(client_trust, Money(held, amount.currency)))
        if short:
            lines.append(Line.debit(fees, Money(short, amount.currency)))
            task = BillingTask.objects.create(
                kind=BillingTask.Kind.TRUST_REPLENISH,
                client=payment.client,
                matter=payment.matter,
                message=f"A card dispute took {amount.format()} from the trust account for {payment.matter.reference}; "
                f"the client held {Money(held, amount.currency).format()} of it. Deposit "
                f"{Money(short, amount.currency).format()} from operating into trust.",
            )
            audit_record(
                AuditAction.TRUST_LOW_BALANCE,
                target=task,
                data={"matter": payment.matter.reference, "short_minor": short, "dispute": obj.get("id")},
            )
    journal_post(
        kind="payment.dispute",
        lines=lines,
        memo=f"Card dispute {obj.get('id')} ({obj.get('reason') or 'no reason given'}) on {payment.payment_intent_id}",
        by=None,
        source=payment,
    )
    payment.disputed_minor = disputed
    payment.status = OnlinePayment.Status.DISPUTED
    payment.save(update_fields=["disputed_minor", "status"])
    return "applied"


_HANDLERS = {
    "payment_intent.succeeded": _succeeded,
    "charge.refunded": _refunded,
    "charge.dispute.created": _disputed,
    "checkout.session.completed": session_completed,
    "checkout.session.expired": session_expired,
}
