"""Payments out of a client's trust funds: disbursement and refund requests, their approval and rejection.

A request waits for approval: one approver, or two distinct approvers when the
amount is above the firm's ``TrustSettings.two_approver_threshold``; the
requester never approves their own request. It is refused at once when the
client-matter's cleared funds could never pay it, and checked again, under the
trust account's lock, when the last approval pays it. ``trust_request_create``
is the one way portal pages and the API ask (it picks the kind and the payee).

A card refund of a retainer (``billing.stripe.trust_refunds``) is a refund request
too, always for two approvers under the same rules (``check_approver``); its last
approval asks Stripe instead of posting, and the ledger follows Stripe's event.
"""

from __future__ import annotations

from typing import Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from billing.inputs import check_amount, refuse
from billing.ledger.accounts import account_for
from billing.ledger.models import Account
from billing.ledger.services import Line, journal_post
from billing.locks import money_transaction
from billing.money import Money
from billing.stripe.models import TrustCardRefund
from billing.trust.models import TrustApproval, TrustRequest, TrustSettings
from billing.trust.services import check_owner, flag_low_balance, take_from_trust
from core.audit.actions import AuditAction
from core.audit.services import audit_record
from core.models import Matter, User
from core.roles import APPROVE_TRUST

Kind = Account.Kind
Step = Literal["request", "approve", "post", "reject"]

# What the log records at each step of a request, by the request's kind.
_ACTIONS: dict[tuple[str, Step], AuditAction] = {
    (TrustRequest.Kind.DISBURSEMENT, "request"): AuditAction.TRUST_DISBURSEMENT_REQUEST,
    (TrustRequest.Kind.DISBURSEMENT, "approve"): AuditAction.TRUST_DISBURSEMENT_APPROVE,
    (TrustRequest.Kind.DISBURSEMENT, "post"): AuditAction.TRUST_DISBURSEMENT_POST,
    (TrustRequest.Kind.DISBURSEMENT, "reject"): AuditAction.TRUST_DISBURSEMENT_REJECT,
    (TrustRequest.Kind.REFUND, "request"): AuditAction.TRUST_REFUND_REQUEST,
    (TrustRequest.Kind.REFUND, "approve"): AuditAction.TRUST_REFUND_APPROVE,
    (TrustRequest.Kind.REFUND, "post"): AuditAction.TRUST_REFUND_POST,
    (TrustRequest.Kind.REFUND, "reject"): AuditAction.TRUST_REFUND_REJECT,
}


def _request(
    *, kind: str, client: User, matter: Matter, amount: Money, payee: str, purpose: str, by: User
) -> TrustRequest:
    check_owner(client, matter)
    amount = check_amount(amount)
    if not purpose.strip():
        raise refuse("purpose", "Say what the payment is for.")
    # Refused early when it could never be paid; checked again, under the lock, when it is.
    take_from_trust(client=client, matter=matter, amount=amount)
    threshold = TrustSettings.load().two_approver_threshold_minor
    request = TrustRequest.objects.create(
        kind=kind,
        client=client,
        matter=matter,
        amount_minor=amount.minor,
        currency=amount.currency,
        payee=payee,
        purpose=purpose,
        approvals_required=2 if amount.minor > threshold else 1,
        requested_by=by,
    )
    audit_record(
        _ACTIONS[kind, "request"],
        actor=by,
        target=request,
        data={
            "matter": matter.reference,
            "amount_minor": amount.minor,
            "currency": amount.currency,
            "payee": payee,
            "approvals_required": request.approvals_required,
        },
    )
    return request


@money_transaction
def trust_disbursement_request(
    *, client: User, matter: Matter, amount: Money, payee: str, purpose: str, by: User
) -> TrustRequest:
    """Ask to pay ``payee`` from the client's trust funds (e.g. a USCIS filing fee); waits for approval."""
    return _request(
        kind=TrustRequest.Kind.DISBURSEMENT,
        client=client,
        matter=matter,
        amount=amount,
        payee=payee,
        purpose=purpose,
        by=by,
    )


@money_transaction
def trust_refund_request(
    *, client: User, matter: Matter, amount: Money, purpose: str, by: User, payee: str = ""
) -> TrustRequest:
    """Ask to return unused trust funds to the client; follows the disbursement approval rule."""
    return _request(
        kind=TrustRequest.Kind.REFUND,
        client=client,
        matter=matter,
        amount=amount,
        payee=payee or client.get_full_name(),
        purpose=purpose,
        by=by,
    )


def trust_request_create(
    *, kind: str, matter: Matter, amount: Money, purpose: str, by: User, payee: str = ""
) -> TrustRequest:
    """A disbursement or a refund on ``matter``'s client's trust funds, as a page or the API asks for it.

    Without a payee the money goes to the client (by name).
    """
    if kind not in TrustRequest.Kind.values:
        raise refuse("kind", f"{str(kind)[:20]!r} is neither a disbursement nor a refund.")
    payee = payee.strip() or matter.client.get_full_name()
    if kind == TrustRequest.Kind.REFUND:
        return trust_refund_request(
            client=matter.client, matter=matter, amount=amount, purpose=purpose, by=by, payee=payee
        )
    return trust_disbursement_request(
        client=matter.client, matter=matter, amount=amount, payee=payee, purpose=purpose, by=by
    )


def _post_request(request: TrustRequest, *, by: User) -> None:
    client_trust = take_from_trust(client=request.client, matter=request.matter, amount=request.amount)
    request.entry = journal_post(
        kind=f"trust.{request.kind}",
        lines=[
            Line.debit(client_trust, request.amount),
            Line.credit(account_for(Kind.TRUST_BANK, currency=request.currency), request.amount),
        ],
        memo=f"{request.get_kind_display()} to {request.payee} for {request.matter.reference}: {request.purpose}",
        by=by,
        source=request,
    )
    request.status = TrustRequest.Status.POSTED
    request.decided_at = timezone.now()
    request.save(update_fields=["entry", "status", "decided_at"])
    audit_record(
        _ACTIONS[request.kind, "post"],
        actor=by,
        target=request,
        data={"amount_minor": request.amount_minor, "currency": request.currency, "entry": request.entry.pk},
    )
    flag_low_balance(account=client_trust, by=by)


def check_approver(request: TrustRequest, by: User) -> None:
    """Who may approve a payment out of trust: active, holding ``approve_trust``, and not its requester."""
    if not by.is_active or not by.has_perm(APPROVE_TRUST):
        raise PermissionDenied("Your role does not allow approving payments from trust.")
    if by.pk == request.requested_by_id:
        raise PermissionDenied("The person who asked for a payment from trust cannot approve it.")


def trust_request_approve(*, request: TrustRequest, by: User) -> TrustRequest:
    """Approve a disbursement or refund; the last approval needed pays it (posts the entry).

    A card refund of a retainer (``billing.stripe.trust_refunds``) is paid by Stripe, not by
    an entry: its last approval asks Stripe after the approval has committed, so it is
    handed over before any transaction starts.
    """
    if TrustCardRefund.objects.filter(request_id=request.pk).exists():
        # Imported here: billing.stripe builds on this module (the approval rules above).
        from billing.stripe.trust_refunds import trust_card_refund_approve

        trust_card_refund_approve(request=request, by=by)
        return TrustRequest.objects.select_related("client", "matter").get(pk=request.pk)
    return _approve(request=request, by=by)


@money_transaction
def _approve(*, request: TrustRequest, by: User) -> TrustRequest:
    request = TrustRequest.objects.select_for_update(of=("self",)).select_related("client", "matter").get(pk=request.pk)
    check_approver(request, by)
    if request.status != TrustRequest.Status.PENDING:
        raise ValidationError("This request has already been decided.")
    if request.approvals.filter(approver=by).exists():
        raise ValidationError("You have already approved this request; it needs another approver.")
    approval = TrustApproval.objects.create(request=request, approver=by)
    count = request.approvals.count()
    audit_record(
        _ACTIONS[request.kind, "approve"],
        actor=by,
        target=request,
        data={"approval": approval.pk, "approvals": count, "approvals_required": request.approvals_required},
    )
    if count >= request.approvals_required:
        _post_request(request, by=by)
    return request


@money_transaction
def trust_request_reject(*, request: TrustRequest, by: User, reason: str) -> TrustRequest:
    request = TrustRequest.objects.select_for_update(of=("self",)).get(pk=request.pk)
    if not by.has_perm(APPROVE_TRUST):
        raise PermissionDenied("Your role does not allow deciding payments from trust.")
    if request.status != TrustRequest.Status.PENDING:
        raise ValidationError("This request has already been decided.")
    card_refund = TrustCardRefund.objects.filter(request=request).first()
    if card_refund is not None:
        from billing.stripe.trust_refunds import trust_card_refund_reject  # see trust_request_approve

        trust_card_refund_reject(refund=card_refund)
    request.status = TrustRequest.Status.REJECTED
    request.decided_at = timezone.now()
    request.save(update_fields=["status", "decided_at"])
    audit_record(_ACTIONS[request.kind, "reject"], actor=by, target=request, data={"reason": reason})
    return request
