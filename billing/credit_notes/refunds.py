"""Refunding client credit (from credit notes) out of the operating account, with a second person's approval.

Client credit is a liability held in operating (the overpayment arrived there),
so its refund is Dr client credit / Cr operating bank. Trust money is never
touched here: refunds from trust are ``billing.trust.services.trust_refund_request``
and follow the trust approval rule.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils import timezone

from billing.credit_notes.models import CreditRefund
from billing.invoices.write_offs import check_approver
from billing.ledger.accounts import account_for
from billing.ledger.models import Account
from billing.ledger.selectors import line_balance
from billing.ledger.services import Line, journal_post
from billing.locks import money_transaction
from billing.money import Money
from core.audit.actions import AuditAction
from core.audit.services import audit_record
from core.models import User

Kind = Account.Kind


def _locked_credit(client: User, currency: str) -> Account:
    account = account_for(Kind.CLIENT_CREDIT, client=client, currency=currency)
    return Account.objects.select_for_update(no_key=True).get(pk=account.pk)


@money_transaction
def credit_refund_request(*, client: User, amount: Money, method: str, reason: str, by: User) -> CreditRefund:
    available = line_balance(_locked_credit(client, amount.currency))
    if not 0 < amount.minor <= available.minor:
        raise ValidationError(f"the client's credit is {available.format()}")
    if method not in CreditRefund.Method.values:
        raise ValidationError(f"{method!r} is not a refund method")
    refund = CreditRefund.objects.create(
        client=client,
        amount_minor=amount.minor,
        currency=amount.currency,
        method=method,
        reason=reason,
        requested_by=by,
    )
    audit_record(
        AuditAction.CREDIT_REFUND_REQUEST,
        actor=by,
        target=refund,
        data={"client": client.pk, "amount_minor": amount.minor},
    )
    return refund


@money_transaction
def credit_refund_decide(*, refund: CreditRefund, approve: bool, by: User) -> CreditRefund:
    refund = CreditRefund.objects.select_for_update(of=("self",)).select_related("client").get(pk=refund.pk)
    check_approver(approver=by, requester_id=refund.requested_by_id)
    if refund.status != CreditRefund.Status.REQUESTED:
        raise ValidationError("this refund was already decided")
    refund.decided_by = by
    refund.decided_at = timezone.now()
    if not approve:
        refund.status = CreditRefund.Status.REJECTED
        refund.save()
        audit_record(AuditAction.CREDIT_REFUND_REJECT, actor=by, target=refund, data={"client": refund.client_id})
        return refund
    credit = _locked_credit(refund.client, refund.currency)
    if refund.amount_minor > line_balance(credit).minor:
        raise ValidationError("the client's credit no longer covers this refund")
    refund.entry = journal_post(
        kind="credit.refund",
        lines=[
            Line.debit(credit, refund.amount),
            Line.credit(account_for(Kind.OPERATING_BANK, currency=refund.currency), refund.amount),
        ],
        memo=f"Client credit refunded by {refund.method}: {refund.reason}",
        by=by,
        source=refund,
    )
    refund.status = CreditRefund.Status.APPROVED
    refund.save()
    audit_record(
        AuditAction.CREDIT_REFUND_APPROVE,
        actor=by,
        target=refund,
        data={"client": refund.client_id, "amount_minor": refund.amount_minor, "requested_by": refund.requested_by_id},
    )
    return refund
