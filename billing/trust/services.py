"""Writes on client trust money: deposits, applications to invoices, disbursements and refunds.

Rules (SPEC §7):

* Money received for a client goes to trust (Dr trust bank, Cr client trust
  liability), never to operating.
* Money leaves a client's trust only up to that client-matter's *cleared*
  funds on the day (``billing.trust.selectors.cleared_funds``, from the lines).
  Every service is a ``@money_transaction`` (the lock order of ``billing/locks.py``:
  the audit chain head first, then the request, then the client-matter trust
  account), so concurrent outflows queue and none overdraws or deadlocks.
* A deposit is dated the day it was received, never later than today, and clears
  on or after that day.
* Disbursements and refunds wait for approval: one approver, or two distinct
  approvers when the amount is above ``TrustSettings.two_approver_threshold_minor``;
  the requester never approves their own request.
* A trust balance that drops below ``TrustSettings.low_balance_minor`` opens a
  task (one open task per client-matter) and an audit entry.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Protocol

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.utils import timezone

from billing.inputs import check_business_date, refuse
from billing.ledger.accounts import account_for
from billing.ledger.models import Account, JournalEntry
from billing.ledger.selectors import line_balance
from billing.ledger.services import Line, journal_post
from billing.locks import money_transaction
from billing.trust.models import BillingTask, TrustApproval, TrustDeposit, TrustRequest, TrustSettings
from billing.trust.selectors import cleared_funds
from core.audit.services import audit_record
from core.models import Matter, User
from core.roles import APPROVE_TRUST

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


def _check_owner(client: User, matter: Matter) -> None:
    if matter.client_id != client.pk:
        raise ValidationError("The matter belongs to another client.")


def _positive(amount_minor: int) -> None:
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int) or amount_minor <= 0:
        raise ValidationError("The amount must be a positive whole number of minor units.")


def _check_cleared_on(cleared_on: date, *, received_on: date) -> None:
    """Funds clear on or after the day they are received, and not before the bank has cleared them (today)."""
    check_business_date(cleared_on, field="cleared_on")
    if cleared_on < received_on:
        raise refuse("cleared_on", "Funds cannot clear before they are received; check the dates.")


def _locked_trust_account(*, client: User, matter: Matter, currency: str) -> Account:
    account = account_for(Kind.CLIENT_TRUST, client=client, matter=matter, currency=currency)
    return Account.objects.select_for_update(no_key=True).get(pk=account.pk)


def _take_from_trust(*, client: User, matter: Matter, currency: str, amount_minor: int) -> Account:
    """Lock the client-matter trust account and check its cleared funds cover ``amount_minor``."""
    account = _locked_trust_account(client=client, matter=matter, currency=currency)
    available = cleared_funds(account=account, on=timezone.localdate())
    if amount_minor > available:
        raise InsufficientTrustFunds(
            f"Only {available} (minor units, {currency}) of cleared trust funds are available for this matter."
        )
    return account


def _flag_low_balance(*, account: Account, by: User | None) -> None:
    settings = TrustSettings.load()
    remaining = line_balance(account)
    if remaining >= settings.low_balance_minor or account.client is None:
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
        message=f"Trust balance for matter {reference} is low ({remaining} {account.currency} minor units); "
        "ask the client for a new retainer.",
    )
    audit_record(
        "trust.low_balance",
        actor=by,
        target=task,
        data={"account": account.name, "balance_minor": remaining, "threshold_minor": settings.low_balance_minor},
    )


@money_transaction
def trust_deposit(
    *,
    client: User,
    matter: Matter,
    amount_minor: int,
    currency: str | None = None,
    method: str,
    reference: str = "",
    by: User,
    received_on: date | None = None,
    cleared_on: date | None = None,
) -> TrustDeposit:
    """Record money received into trust for ``matter`` (cash clears on receipt; others when ``cleared_on``)."""
    _check_owner(client, matter)
    _positive(amount_minor)
    if method not in TrustDeposit.Method.values:
        raise ValidationError(f"Unknown payment method {method!r}.")
    currency = currency or TrustSettings.load().currency
    received_on = check_business_date(received_on or timezone.localdate(), field="received_on")
    if cleared_on is None and method == TrustDeposit.Method.CASH:
        cleared_on = received_on
    if cleared_on is not None:
        _check_cleared_on(cleared_on, received_on=received_on)
    deposit = TrustDeposit.objects.create(
        client=client,
        matter=matter,
        amount_minor=amount_minor,
        currency=currency,
        method=method,
        reference=reference,
        received_on=received_on,
        cleared_on=cleared_on,
        recorded_by=by,
    )
    deposit.entry = journal_post(
        kind="trust.deposit",
        lines=[
            Line.debit(account_for(Kind.TRUST_BANK, currency=currency), amount_minor),
            Line.credit(account_for(Kind.CLIENT_TRUST, client=client, matter=matter, currency=currency), amount_minor),
        ],
        memo=f"Retainer received by {method} for {matter.reference}" + (f" ({reference})" if reference else ""),
        by=by,
        source=deposit,
        occurred_on=received_on,
    )
    deposit.save(update_fields=["entry"])
    audit_record(
        "trust.deposit",
        actor=by,
        target=deposit,
        data={"matter": matter.reference, "amount_minor": amount_minor, "currency": currency, "method": method},
    )
    return deposit


@money_transaction
def trust_deposit_clear(*, deposit: TrustDeposit, cleared_on: date, by: User) -> TrustDeposit:
    """Mark a deposit's funds as cleared by the bank, making them available to disburse."""
    deposit = TrustDeposit.objects.select_for_update().get(pk=deposit.pk)
    _check_cleared_on(cleared_on, received_on=deposit.received_on)
    deposit.cleared_on = cleared_on
    deposit.save(update_fields=["cleared_on"])
    audit_record("trust.deposit_clear", actor=by, target=deposit, data={"cleared_on": cleared_on.isoformat()})
    return deposit


@money_transaction
def trust_apply_to_invoice(
    *, invoice_like: InvoiceLike, amount_minor: int, by: User | None, occurred_on: date | None = None
) -> JournalEntry:
    """Pay earned fees on an issued invoice from the client's trust funds for its matter.

    One entry: the money leaves trust (Dr client trust, Cr trust bank), arrives in
    operating (Dr operating bank) and settles the receivable (Cr receivable).
    """
    _positive(amount_minor)
    client, matter, currency = invoice_like.client, invoice_like.matter, invoice_like.currency
    _check_owner(client, matter)
    client_trust = _take_from_trust(client=client, matter=matter, currency=currency, amount_minor=amount_minor)
    entry = journal_post(
        kind="trust.apply",
        lines=[
            Line.debit(client_trust, amount_minor),
            Line.credit(account_for(Kind.TRUST_BANK, currency=currency), amount_minor),
            Line.debit(account_for(Kind.OPERATING_BANK, currency=currency), amount_minor),
            Line.credit(account_for(Kind.RECEIVABLE, client=client, matter=matter, currency=currency), amount_minor),
        ],
        memo=f"Earned fees paid from trust for {matter.reference}",
        by=by,
        source=invoice_like if isinstance(invoice_like, models.Model) else None,
        occurred_on=occurred_on,
    )
    audit_record(
        "trust.apply",
        actor=by,
        target=invoice_like if isinstance(invoice_like, models.Model) else entry,
        data={"matter": matter.reference, "amount_minor": amount_minor, "currency": currency, "entry": entry.pk},
    )
    _flag_low_balance(account=client_trust, by=by)
    return entry


def _request(
    *,
    kind: str,
    client: User,
    matter: Matter,
    amount_minor: int,
    currency: str | None,
    payee: str,
    purpose: str,
    by: User,
) -> TrustRequest:
    _check_owner(client, matter)
    _positive(amount_minor)
    settings = TrustSettings.load()
    currency = currency or settings.currency
    # Refused early when it could never be paid; checked again, under the lock, when it is.
    _take_from_trust(client=client, matter=matter, currency=currency, amount_minor=amount_minor)
    request = TrustRequest.objects.create(
        kind=kind,
        client=client,
        matter=matter,
        amount_minor=amount_minor,
        currency=currency,
        payee=payee,
        purpose=purpose,
        approvals_required=2 if amount_minor > settings.two_approver_threshold_minor else 1,
        requested_by=by,
    )
    audit_record(
        f"trust.{kind}_request",
        actor=by,
        target=request,
        data={
            "matter": matter.reference,
            "amount_minor": amount_minor,
            "currency": currency,
            "payee": payee,
            "approvals_required": request.approvals_required,
        },
    )
    return request


@money_transaction
def trust_disbursement_request(
    *,
    client: User,
    matter: Matter,
    amount_minor: int,
    payee: str,
    purpose: str,
    by: User,
    currency: str | None = None,
) -> TrustRequest:
    """Ask to pay ``payee`` from the client's trust funds (e.g. a USCIS filing fee); waits for approval."""
    return _request(
        kind=TrustRequest.Kind.DISBURSEMENT,
        client=client,
        matter=matter,
        amount_minor=amount_minor,
        currency=currency,
        payee=payee,
        purpose=purpose,
        by=by,
    )


@money_transaction
def trust_refund_request(
    *,
    client: User,
    matter: Matter,
    amount_minor: int,
    purpose: str,
    by: User,
    payee: str = "",
    currency: str | None = None,
) -> TrustRequest:
    """Ask to return unused trust funds to the client; follows the disbursement approval rule."""
    return _request(
        kind=TrustRequest.Kind.REFUND,
        client=client,
        matter=matter,
        amount_minor=amount_minor,
        currency=currency,
        payee=payee or client.get_full_name(),
        purpose=purpose,
        by=by,
    )


def _post_request(request: TrustRequest, *, by: User) -> None:
    client_trust = _take_from_trust(
        client=request.client, matter=request.matter, currency=request.currency, amount_minor=request.amount_minor
    )
    request.entry = journal_post(
        kind=f"trust.{request.kind}",
        lines=[
            Line.debit(client_trust, request.amount_minor),
            Line.credit(account_for(Kind.TRUST_BANK, currency=request.currency), request.amount_minor),
        ],
        memo=f"{request.get_kind_display()} to {request.payee} for {request.matter.reference}: {request.purpose}",
        by=by,
        source=request,
    )
    request.status = TrustRequest.Status.POSTED
    request.decided_at = timezone.now()
    request.save(update_fields=["entry", "status", "decided_at"])
    audit_record(
        f"trust.{request.kind}_post",
        actor=by,
        target=request,
        data={"amount_minor": request.amount_minor, "currency": request.currency, "entry": request.entry.pk},
    )
    _flag_low_balance(account=client_trust, by=by)


@money_transaction
def trust_request_approve(*, request: TrustRequest, by: User) -> TrustRequest:
    """Approve a disbursement or refund; the last approval needed pays it (posts the entry)."""
    request = TrustRequest.objects.select_for_update(of=("self",)).select_related("client", "matter").get(pk=request.pk)
    if not by.is_active or not by.has_perm(APPROVE_TRUST):
        raise PermissionDenied("Your role does not allow approving payments from trust.")
    if request.status != TrustRequest.Status.PENDING:
        raise ValidationError("This request has already been decided.")
    if by.pk == request.requested_by_id:
        raise PermissionDenied("The person who asked for a payment from trust cannot approve it.")
    if request.approvals.filter(approver=by).exists():
        raise ValidationError("You have already approved this request; it needs another approver.")
    approval = TrustApproval.objects.create(request=request, approver=by)
    count = request.approvals.count()
    audit_record(
        f"trust.{request.kind}_approve",
        actor=by,
        target=request,
        data={"approval": approval.pk, "approvals": count, "approvals_required": request.approvals_required},
    )
    if count >= request.approvals_required:
        _post_request(request, by=by)
    return request


trust_disbursement_approve = trust_request_approve
trust_refund_approve = trust_request_approve


@money_transaction
def trust_request_reject(*, request: TrustRequest, by: User, reason: str) -> TrustRequest:
    request = TrustRequest.objects.select_for_update().get(pk=request.pk)
    if not by.has_perm(APPROVE_TRUST):
        raise PermissionDenied("Your role does not allow deciding payments from trust.")
    if request.status != TrustRequest.Status.PENDING:
        raise ValidationError("This request has already been decided.")
    request.status = TrustRequest.Status.REJECTED
    request.decided_at = timezone.now()
    request.save(update_fields=["status", "decided_at"])
    audit_record(f"trust.{request.kind}_reject", actor=by, target=request, data={"reason": reason})
    return request


@money_transaction
def trust_settings_update(
    *,
    by: User,
    currency: str,
    two_approver_threshold_minor: int,
    low_balance_minor: int,
    apply_trust_to_invoices: bool,
) -> TrustSettings:
    """Change the firm's trust policy (audited with the old and new values)."""
    settings = TrustSettings.objects.select_for_update().get(pk=TrustSettings.load().pk)
    if two_approver_threshold_minor < 0 or low_balance_minor < 0:
        raise ValidationError("Thresholds cannot be negative.")
    before = {
        "currency": settings.currency,
        "two_approver_threshold_minor": settings.two_approver_threshold_minor,
        "low_balance_minor": settings.low_balance_minor,
        "apply_trust_to_invoices": settings.apply_trust_to_invoices,
    }
    settings.currency = currency.upper()
    settings.two_approver_threshold_minor = two_approver_threshold_minor
    settings.low_balance_minor = low_balance_minor
    settings.apply_trust_to_invoices = apply_trust_to_invoices
    settings.save()
    after = {key: getattr(settings, key) for key in before}
    audit_record("trust.settings_update", actor=by, target=settings, data={"before": before, "after": after})
    return settings
