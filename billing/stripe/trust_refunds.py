"""Refunding a card retainer (client money in trust) to the card: a request, two approvers, then one call to Stripe.

SPEC §7 and issue 12 item 4: a refund from trust follows the two-approver rule
before any call to Stripe. The request is a ``TrustRequest`` of kind refund that
always needs two approvals (whatever the firm's threshold), given through
``billing.trust.requests`` (two different approvers holding ``approve_trust``, never
the requester), plus a ``TrustCardRefund`` naming the payment and holding the
idempotency key, committed with the request. Only the second approval reserves the
amount on the payment (``refund_asked_minor``) and, after that commit, asks Stripe
on the payment's own (trust) connected account. A refusal or a crash there leaves
the refund ``sending``: approving again sends the same key, so Stripe refunds once.
The ledger follows Stripe's ``charge.refunded`` event (``billing.stripe.webhooks``).

Portico refuses an over-refund itself: a request may ask at most what is left of
the payment after the refunds confirmed, those asked and not yet confirmed, and
the other requests still waiting; and never more than the client-matter's trust
ledger holds beyond what is already on its way back.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import F, Sum
from django.utils import timezone

from billing.inputs import refuse
from billing.ledger.accounts import account_for
from billing.ledger.models import Account
from billing.ledger.selectors import line_balance
from billing.locks import money_transaction
from billing.money import Money
from billing.stripe import gateway
from billing.stripe.models import OnlinePayment, TrustCardRefund
from billing.stripe.services import _key
from billing.trust.models import TrustApproval, TrustRequest
from billing.trust.requests import check_approver
from core.audit.actions import AuditAction
from core.audit.services import audit_record
from core.models import User

APPROVERS = 2
Status = TrustCardRefund.Status


def _waiting(payment: OnlinePayment, *, leaving_out: TrustCardRefund | None = None) -> int:
    """What requests not yet approved ask of ``payment``."""
    found = TrustCardRefund.objects.filter(payment=payment, status=Status.AWAITING)
    if leaving_out is not None:
        found = found.exclude(pk=leaving_out.pk)
    return int(found.aggregate(total=Sum("amount_minor"))["total"] or 0)


def refundable(payment: OnlinePayment, *, leaving_out: TrustCardRefund | None = None) -> Money:
    """What may still be asked back of ``payment``: paid, less refunds confirmed or asked, less requests waiting."""
    used = max(payment.refunded_minor, payment.refund_asked_minor) + payment.disputed_minor
    return Money(max(0, payment.amount_minor - used - _waiting(payment, leaving_out=leaving_out)), payment.currency)


def _on_its_way_back(payment: OnlinePayment, *, leaving_out: TrustCardRefund | None) -> int:
    """Card refunds of this client-matter's retainers asked or waiting, not yet in the ledger."""
    retainers = OnlinePayment.objects.filter(
        purpose=OnlinePayment.Purpose.RETAINER, client_id=payment.client_id, matter_id=payment.matter_id
    )
    asked = retainers.filter(refund_asked_minor__gt=F("refunded_minor")).aggregate(
        total=Sum(F("refund_asked_minor") - F("refunded_minor"))
    )["total"]
    waiting = TrustCardRefund.objects.filter(payment__in=retainers, status=Status.AWAITING)
    if leaving_out is not None:
        waiting = waiting.exclude(pk=leaving_out.pk)
    return int(asked or 0) + int(waiting.aggregate(total=Sum("amount_minor"))["total"] or 0)


def _check(payment: OnlinePayment, amount: Money, *, leaving_out: TrustCardRefund | None = None) -> None:
    """Refuse (``ValidationError`` on ``amount``) a refund Portico must not ask Stripe for."""
    if payment.purpose != OnlinePayment.Purpose.RETAINER:
        raise refuse("payment", "Only a retainer paid into trust is refunded through two approvers.")
    if payment.status not in (OnlinePayment.Status.SUCCEEDED, OnlinePayment.Status.REFUNDED):
        raise refuse("payment", "Only a received payment that is not disputed can be refunded.")
    if not payment.payment_intent_id:
        raise refuse("payment", "This payment never reached Stripe.")
    left = refundable(payment, leaving_out=leaving_out)
    if amount.currency != payment.currency or not 0 < amount.minor <= left.minor:
        raise refuse("amount", f"At most {left.format()} of this payment can be refunded.")
    trust = account_for(Account.Kind.CLIENT_TRUST, client=payment.client, matter=payment.matter)
    trust = Account.objects.select_for_update(no_key=True).get(pk=trust.pk)
    held = line_balance(trust).minor - _on_its_way_back(payment, leaving_out=leaving_out)
    if amount.minor > held:
        raise refuse(
            "amount",
            f"The client's trust ledger for {payment.matter.reference} holds only "
            f"{Money(max(held, 0), payment.currency).format()} that is not already being refunded.",
        )


@money_transaction
def trust_card_refund_request(*, payment: OnlinePayment, amount: Money, reason: str, by: User) -> TrustCardRefund:
    """Ask to refund (part of) a card retainer to the card; it waits for two approvers before Stripe is called."""
    payment = (
        OnlinePayment.objects.select_for_update(of=("self",))
        .select_related("client", "matter", "account")
        .get(pk=payment.pk)
    )
    _check(payment, amount)
    request = TrustRequest.objects.create(
        kind=TrustRequest.Kind.REFUND,
        client=payment.client,
        matter=payment.matter,
        amount_minor=amount.minor,
        currency=amount.currency,
        payee=f"{payment.client.get_full_name()} (card refund)"[:200],
        purpose=(reason.strip() or "Card refund of a retainer")[:500],
        approvals_required=APPROVERS,
        requested_by=by,
    )
    refund = TrustCardRefund.objects.create(
        request=request,
        payment=payment,
        amount_minor=amount.minor,
        currency=amount.currency,
        idempotency_key=_key("trust-refund"),
    )
    audit_record(
        AuditAction.TRUST_REFUND_REQUEST,
        actor=by,
        target=request,
        data={
            "matter": payment.matter.reference,
            "amount_minor": amount.minor,
            "currency": amount.currency,
            "payee": request.payee,
            "approvals_required": APPROVERS,
            "online_payment": payment.pk,
            "payment_intent": payment.payment_intent_id,
        },
    )
    return refund


@money_transaction
def _approve(*, request: TrustRequest, by: User) -> TrustCardRefund:
    request = TrustRequest.objects.select_for_update(of=("self",)).get(pk=request.pk)
    refund = TrustCardRefund.objects.select_for_update(of=("self",)).select_related("payment").get(request=request)
    check_approver(request, by)
    if refund.status == Status.SENDING:
        return refund  # both approvals stand; Stripe has not accepted it yet: send it again, same key
    if request.status != TrustRequest.Status.PENDING or refund.status != Status.AWAITING:
        raise ValidationError("This request has already been decided.")
    if request.approvals.filter(approver=by).exists():
        raise ValidationError("You have already approved this request; it needs another approver.")
    approval = TrustApproval.objects.create(request=request, approver=by)
    count = request.approvals.count()
    audit_record(
        AuditAction.TRUST_REFUND_APPROVE,
        actor=by,
        target=request,
        data={"approval": approval.pk, "approvals": count, "approvals_required": request.approvals_required},
    )
    if count < request.approvals_required:
        return refund
    payment = (
        OnlinePayment.objects.select_for_update(of=("self",))
        .select_related("client", "matter")
        .get(pk=refund.payment_id)
    )
    _check(payment, refund.amount, leaving_out=refund)  # checked again: refunds and disputes may have come since
    payment.refund_asked_minor = max(payment.refunded_minor, payment.refund_asked_minor) + refund.amount_minor
    payment.save(update_fields=["refund_asked_minor"])
    refund.status = Status.SENDING
    refund.save(update_fields=["status"])
    audit_record(
        AuditAction.STRIPE_REFUND_REQUEST,
        actor=by,
        target=payment,
        data={
            "amount_minor": refund.amount_minor,
            "idempotency_key": refund.idempotency_key,
            "trust_request": request.pk,
        },
    )
    return refund


def _send(refund: TrustCardRefund, *, by: User) -> TrustCardRefund:
    payment = refund.payment
    account_id, intent_id = payment.account.stripe_account_id, payment.payment_intent_id
    assert account_id is not None  # checked by _check
    assert intent_id is not None
    try:
        refund_id = gateway.refund_create(
            account_id=account_id,
            payment_intent_id=intent_id,
            amount_minor=refund.amount_minor,
            idempotency_key=refund.idempotency_key,
        )
    except gateway.GatewayError as exc:
        TrustCardRefund.objects.filter(pk=refund.pk).update(last_error=str(exc)[:300])
        raise ValidationError(
            f"{exc} Both approvals stand; approve again to send it once more (Stripe refunds it only once)."
        ) from exc
    return _sent(refund, refund_id=refund_id, by=by)


@money_transaction
def _sent(refund: TrustCardRefund, *, refund_id: str, by: User) -> TrustCardRefund:
    """What Stripe answered, saved; a crash before this commit leaves the refund ``sending`` (resent, same key)."""
    refund.stripe_refund_id = refund_id
    refund.status = Status.ASKED
    refund.last_error = ""
    refund.save(update_fields=["stripe_refund_id", "status", "last_error"])
    posted = TrustRequest.Status.POSTED
    TrustRequest.objects.filter(pk=refund.request_id).update(status=posted, decided_at=timezone.now())
    audit_record(
        AuditAction.STRIPE_TRUST_REFUND_SENT,
        actor=by,
        target=refund.request,
        data={"online_payment": refund.payment_id, "amount_minor": refund.amount_minor, "stripe_refund": refund_id},
    )
    return refund


def trust_card_refund_approve(*, request: TrustRequest, by: User) -> TrustCardRefund:
    """Approve a card refund of a retainer; the second approval asks Stripe (after its own commit)."""
    refund = _approve(request=request, by=by)
    if refund.status == Status.SENDING:
        refund = TrustCardRefund.objects.select_related("payment__account", "request").get(pk=refund.pk)
        return _send(refund, by=by)
    return refund


def trust_card_refund_reject(*, refund: TrustCardRefund) -> None:
    """Called inside ``trust_request_reject``'s transaction: a refund already sent to Stripe is not rejected."""
    refund = TrustCardRefund.objects.select_for_update(of=("self",)).get(pk=refund.pk)
    if refund.status != Status.AWAITING:
        raise ValidationError("This refund was approved and sent to Stripe; it can no longer be rejected.")
    refund.status = Status.REJECTED
    refund.save(update_fields=["status"])
