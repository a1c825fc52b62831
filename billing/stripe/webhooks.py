"""Signed Stripe events applied to the firm's books, each exactly once.

The shared endpoint (``portal.views.stripe_webhook``) verifies the signature,
routes the event to its firm with ``event_route`` (public schema) and queues
``billing.stripe.tasks.stripe_event_process`` pinned to that firm. The task
calls ``event_process``, which reads from Stripe what the event alone cannot
say, then ``event_apply``, which runs in one transaction that records the event
id under a unique constraint and posts its effect: a replayed event finds its
id and changes nothing. An event that does not match what Portico started
(another account than the payment's, another amount) is recorded, audited as
refused, and posts nothing.

Order: when a refund or a dispute arrives before the payment's success,
``event_process`` re-reads the PaymentIntent from Stripe (on the payment's
connected account) and, if Stripe holds it as succeeded, the success is posted
from Stripe's object first, then the refund or dispute, in the same
transaction; the late ``payment_intent.succeeded`` is then a duplicate. If Stripe
cannot be read, or does not hold the payment as succeeded yet, ``RetryLater``
or ``GatewayError`` propagates and the task retries with back-off (nothing was
recorded). The success also reads the charge's balance transaction for the
processing fee (``billing.stripe.fees``) when the event does not carry it.

Handled: ``payment_intent.succeeded`` (an invoice payment into operating, a
retainer into the client's trust ledger, the fee, the client's receipt),
``charge.refunded`` (the refunded amount, counted from Stripe's cumulative
``amount_refunded``, so a reordered or repeated refund event posts only what is
new), ``charge.dispute.created`` and ``charge.dispute.closed``
(``billing.stripe.disputes``); the ``checkout.session.*`` events and payments
paid on Stripe's hosted page are found and handled in ``checkout_events``.
Other types are recorded and ignored.
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
from billing.stripe import gateway
from billing.stripe.checkout_events import payment_for_checkout, session_completed, session_expired
from billing.stripe.disputes import dispute_closed, dispute_created, dispute_updated
from billing.stripe.fees import charge_fee, fee_post
from billing.stripe.models import OnlinePayment, PlatformFee, RetainerRequest, StripeEvent
from billing.stripe.plans import installment_failed_later
from billing.stripe.receipts import receipt_send_on_commit
from billing.trust.models import TrustDeposit
from billing.trust.services import trust_deposit
from core.audit.actions import AuditAction
from core.audit.services import audit_record
from tenants.current import current_firm
from tenants.models import StripeAccountRoute, Tenant

logger = logging.getLogger(__name__)
Kind = Account.Kind


class RetryLater(Exception):
    """The event came before one it depends on and Stripe does not hold that one yet; nothing was recorded."""


# Events about a payment that only make sense once the payment's success is posted.
_AFTER_SUCCESS = frozenset(
    {"charge.refunded", "charge.dispute.created", "charge.dispute.closed", "charge.dispute.updated"}
)


def event_route(event: dict[str, Any]) -> Tenant | None:
    """The firm whose connected account the event is about (None: no firm holds it)."""
    account = event.get("account")
    if not isinstance(account, str) or not account:
        return None
    route = StripeAccountRoute.objects.select_related("tenant").filter(account_id=account).first()
    return route.tenant if route is not None else None


def event_process(event: dict[str, Any]) -> str:
    """Apply ``event`` in the current firm, first reading from Stripe what its order or its fee needs.

    Raises ``gateway.GatewayError`` (Stripe unreachable) or ``RetryLater``
    (Stripe does not hold the payment as succeeded yet): the caller retries.
    """
    if StripeEvent.objects.filter(event_id=str(event["id"])).exists():
        return "duplicate"
    kind, obj = str(event["type"]), event["data"]["object"]
    # By its PaymentIntent, or (a payment made on a Checkout page, whose PaymentIntent Portico has not been
    # told yet) by the payment the object's metadata names; read here only, locked and checked in event_apply.
    payment = _payment_for(obj).select_related("account").first() or _checkout_payment_named(obj)
    intent_id = payment.payment_intent_id if payment is not None and payment.payment_intent_id else _intent_of(obj)
    current = None
    if payment is None and kind in _AFTER_SUCCESS and intent_id and event.get("account"):
        # A refund or a dispute of a Checkout payment before any event that named its PaymentIntent: a dispute
        # carries no metadata, so Stripe's PaymentIntent says which payment it is (event_apply checks the rest).
        current = gateway.payment_intent_retrieve(account_id=str(event["account"]), payment_intent_id=intent_id)
        payment = _checkout_payment_named(current)
        if payment is None:
            current = None  # not one of this firm's payments: refused in event_apply
        elif current.get("status") != "succeeded":
            raise RetryLater(f"{kind} {event['id']}: Stripe holds {intent_id} as {current.get('status')}")
        return event_apply(event, current=current)
    if (
        payment is not None
        and intent_id
        and payment.status == OnlinePayment.Status.STARTED
        and not _mismatch(payment, account=str(event.get("account") or ""), obj=obj)
    ):
        needs_read = kind in _AFTER_SUCCESS or (kind == "payment_intent.succeeded" and charge_fee(obj) is None)
        if needs_read:
            current = gateway.payment_intent_retrieve(
                account_id=str(payment.account.stripe_account_id), payment_intent_id=str(intent_id)
            )
            if current.get("status") != "succeeded":
                raise RetryLater(
                    f"{kind} {event['id']}: Stripe holds {payment.payment_intent_id} as {current.get('status')}"
                )
    return event_apply(event, current=current)


def _intent_of(obj: dict[str, Any]) -> str | None:
    """The PaymentIntent an event's object is (or belongs to)."""
    intent = obj.get("payment_intent") if obj.get("object") in ("charge", "dispute") else obj.get("id")
    if obj.get("object") == "checkout.session":
        intent = obj.get("payment_intent")
    if isinstance(intent, dict):
        intent = intent.get("id")
    return intent if isinstance(intent, str) and intent else None


def _payment_for(obj: dict[str, Any]) -> Any:
    """The payments (at most one) an event's object is about, by its PaymentIntent."""
    intent_id = obj.get("payment_intent") if obj.get("object") in ("charge", "dispute") else obj.get("id")
    return OnlinePayment.objects.filter(payment_intent_id=intent_id)


def _checkout_payment_named(obj: dict[str, Any]) -> OnlinePayment | None:
    """The Checkout payment (PaymentIntent not known yet) this firm's metadata on ``obj`` names, unlocked."""
    if obj.get("object") not in ("payment_intent", "charge"):
        return None
    metadata = obj.get("metadata") or {}
    reference = str(metadata.get("portico_payment") or "")
    if not reference.isdigit() or metadata.get("portico_firm") != current_firm().schema_name:
        return None
    return (
        OnlinePayment.objects.select_related("account")
        .filter(pk=int(reference), payment_intent_id__isnull=True, checkout_session_id__isnull=False)
        .first()
    )


@money_transaction
def event_apply(event: dict[str, Any], *, current: dict[str, Any] | None = None) -> str:
    """Apply ``event`` in the current firm; answers what happened ("applied", "duplicate", "ignored", "refused").

    ``current`` is the PaymentIntent as Stripe holds it now (read by ``event_process``):
    the payment's success is posted from it first when the event came before it.
    """
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
    payment = (
        _payment_for(obj).select_for_update(of=("self",)).select_related("account").first()
        or payment_for_checkout(obj)
        or (payment_for_checkout(current) if current is not None else None)
    )
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
    if current is not None and kind == "payment_intent.succeeded":
        obj = current  # Stripe's object as it is now, its charge's fee expanded
    elif current is not None and payment.status == OnlinePayment.Status.STARTED:
        # Came before the success: post the success from Stripe's own object, then this event.
        logger.info("stripe event %s came before the success of %s: posting the success first", event_id, payment)
        if _succeeded(payment, current) == "refused":
            return _audited("refused", payment=payment, event_id=event_id, kind=kind)
    outcome = handler(payment, obj)
    if outcome == "later":
        raise RetryLater(f"{kind} {event_id} arrived before the payment's success")
    return _audited(outcome, payment=payment, event_id=event_id, kind=kind)


def _audited(outcome: str, *, payment: OnlinePayment, event_id: str, kind: str) -> str:
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
    fee = charge_fee(obj)
    if fee is not None and fee.fee_minor > 0:
        fee_post(payment, kind=PlatformFee.Kind.CHARGE, fee=fee)
    receipt_send_on_commit(payment)
    return "applied"


def _refunded(payment: OnlinePayment, obj: dict[str, Any]) -> str:
    if payment.status == OnlinePayment.Status.STARTED:
        return "later"  # a refund before the payment's success: rolled back, Stripe sends it again
    total = int(obj.get("amount_refunded") or 0)
    # Money a dispute took out (and has not given back) cannot leave the books a second time as a refund.
    out = payment.disputed_minor if payment.dispute_outcome != OnlinePayment.DisputeOutcome.WON else 0
    new = min(total, payment.amount_minor - out) - payment.refunded_minor
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


_HANDLERS = {
    "payment_intent.succeeded": _succeeded,
    "charge.refunded": _refunded,
    "charge.dispute.created": dispute_created,
    "charge.dispute.closed": dispute_closed,
    "charge.dispute.updated": dispute_updated,
    "checkout.session.completed": session_completed,
    "checkout.session.expired": session_expired,
    "payment_intent.payment_failed": installment_failed_later,
}
