"""Writes for online payments: connecting the firm's two accounts, starting a client's payment, refunds.

Each mutating call to Stripe first saves its idempotency key on a committed row,
then calls the gateway, then saves what Stripe answered: a crash in between,
retried, reuses the key and creates nothing twice at Stripe.
"""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from billing.invoices.models import Invoice
from billing.money import Money
from billing.stripe import gateway
from billing.stripe.models import ConnectedAccount, OnlinePayment, RetainerRequest
from core.audit.actions import AuditAction
from core.audit.services import audit_record
from core.models import Matter, User
from tenants.current import current_firm
from tenants.models import StripeAccountRoute

PAYABLE_ONLINE = frozenset({Invoice.Status.ISSUED, Invoice.Status.PARTIALLY_PAID})


def _key(what: str) -> str:
    return f"portico-{what}-{uuid.uuid4().hex}"


def connected_account_create(*, kind: str, by: User) -> ConnectedAccount:
    """Create the firm's ``kind`` account at Stripe (once; a retry after a crash reuses the saved key)."""
    if kind not in ConnectedAccount.Kind.values:
        raise ValidationError(f"unknown account kind {kind!r}")
    with transaction.atomic():
        account, _created = ConnectedAccount.objects.select_for_update().get_or_create(
            kind=kind, defaults={"idempotency_key": _key(f"account-{kind}"), "created_by": by}
        )
    if account.stripe_account_id:
        raise ValidationError(f"The firm's {kind} account is already connected.")
    firm = current_firm()
    state = gateway.account_create(kind=kind, firm=firm.schema_name, idempotency_key=account.idempotency_key)  # type: ignore[arg-type]
    with transaction.atomic():
        account.stripe_account_id = state.account_id
        account.status = state.status
        account.save(update_fields=["stripe_account_id", "status"])
        StripeAccountRoute.objects.get_or_create(account_id=state.account_id, defaults={"tenant": firm})
        audit_record(
            AuditAction.STRIPE_ACCOUNT_CREATE,
            actor=by,
            target=account,
            data={"kind": kind, "stripe_account": state.account_id, "status": state.status},
        )
    return account


def connected_account_link(*, account: ConnectedAccount, by: User, refresh_url: str, return_url: str) -> str:
    """The address of Stripe's onboarding for ``account`` (audited: it hands the firm's account to a person)."""
    if not account.stripe_account_id:
        raise ValidationError("Create the account before onboarding it.")
    url = gateway.account_link(account_id=account.stripe_account_id, refresh_url=refresh_url, return_url=return_url)
    audit_record(AuditAction.STRIPE_ACCOUNT_LINK, actor=by, target=account, data={"kind": account.kind})
    return url


def connected_account_refresh(*, account: ConnectedAccount) -> ConnectedAccount:
    """Read the account's state back from Stripe (after onboarding, or when staff look)."""
    if account.stripe_account_id:
        state = gateway.account_retrieve(account_id=account.stripe_account_id)
        if state.status != account.status:
            account.status = state.status
            account.save(update_fields=["status"])
    return account


def _enabled(kind: str) -> ConnectedAccount:
    account = ConnectedAccount.objects.filter(kind=kind, status=ConnectedAccount.Status.ENABLED).first()
    if account is None or not account.stripe_account_id:
        raise ValidationError(_("Online payment is not available yet. Please contact the firm to pay."))
    return account


def _start(
    *,
    purpose: str,
    account: ConnectedAccount,
    client: User,
    matter: Matter,
    amount: Money,
    description: str,
    invoice: Invoice | None = None,
    retainer: RetainerRequest | None = None,
) -> tuple[OnlinePayment, str]:
    with transaction.atomic():  # committed before the call: the key outlives a crash
        payment = OnlinePayment.objects.create(
            purpose=purpose,
            account=account,
            account_kind=account.kind,
            invoice=invoice,
            retainer=retainer,
            client=client,
            matter=matter,
            amount_minor=amount.minor,
            currency=amount.currency,
            idempotency_key=_key(f"payment-{purpose}"),
        )
    assert account.stripe_account_id is not None  # checked by _enabled
    intent = gateway.payment_intent_create(
        account_id=account.stripe_account_id,
        amount_minor=amount.minor,
        currency=amount.currency,
        description=description,
        metadata={"portico_payment": str(payment.pk), "portico_firm": current_firm().schema_name},
        idempotency_key=payment.idempotency_key,
    )
    with transaction.atomic():
        payment.payment_intent_id = intent.payment_intent_id
        payment.save(update_fields=["payment_intent_id"])
        audit_record(
            AuditAction.STRIPE_PAYMENT_START,
            actor=client,
            target=payment,
            data={
                "purpose": purpose,
                "account_kind": account.kind,
                "amount_minor": amount.minor,
                "currency": amount.currency,
                "payment_intent": intent.payment_intent_id,
            },
        )
    return payment, intent.client_secret


def checkout_for_invoice(*, invoice: Invoice, by: User) -> tuple[OnlinePayment, str]:
    """Start the client's card payment of what remains due on ``invoice``: a direct charge on the operating account."""
    if invoice.client_id != by.pk:
        raise ValidationError(_("Only the client can pay this invoice online."))
    if invoice.status not in PAYABLE_ONLINE or invoice.balance_due_minor <= 0:
        raise ValidationError(_("This invoice has nothing left to pay."))
    return _start(
        purpose=OnlinePayment.Purpose.INVOICE,
        account=_enabled(ConnectedAccount.Kind.OPERATING),
        client=invoice.client,
        matter=invoice.matter,
        amount=invoice.balance_due,
        description=f"{invoice.display_number} ({invoice.matter.reference})",
        invoice=invoice,
    )


def checkout_for_trust_request(*, retainer: RetainerRequest, by: User) -> tuple[OnlinePayment, str]:
    """Start the client's card payment of a retainer: the full amount, a direct charge on the trust account."""
    if retainer.client_id != by.pk:
        raise ValidationError(_("Only the client can pay this retainer online."))
    if retainer.status != RetainerRequest.Status.OPEN:
        raise ValidationError(_("This retainer is already paid."))
    return _start(
        purpose=OnlinePayment.Purpose.RETAINER,
        account=_enabled(ConnectedAccount.Kind.TRUST),
        client=retainer.client,
        matter=retainer.matter,
        amount=retainer.amount,
        description=f"Retainer for {retainer.matter.reference}",
        retainer=retainer,
    )


@transaction.atomic
def retainer_request_create(*, matter: Matter, amount: Money, purpose: str, by: User) -> RetainerRequest:
    """Ask the matter's client for a retainer into trust (paid online from the portal)."""
    if amount.minor <= 0:
        raise ValidationError("A retainer is a positive amount.")
    retainer = RetainerRequest.objects.create(
        client=matter.client,
        matter=matter,
        amount_minor=amount.minor,
        currency=amount.currency,
        purpose=purpose[:300],
        requested_by=by,
    )
    audit_record(
        AuditAction.TRUST_RETAINER_REQUEST,
        actor=by,
        target=retainer,
        data={"matter": matter.reference, "amount_minor": amount.minor, "currency": amount.currency},
    )
    return retainer


def payment_refund(*, payment: OnlinePayment, amount: Money, by: User) -> str:
    """Refund (part of) an online invoice payment through Stripe; the ledger follows on ``charge.refunded``.

    Portico refuses an over-refund itself (counting refunds asked for and not yet
    confirmed); refunds of trust money go through the trust refund approvals instead.
    """
    with transaction.atomic():
        payment = OnlinePayment.objects.select_for_update().get(pk=payment.pk)
        if payment.purpose != OnlinePayment.Purpose.INVOICE:
            raise ValidationError("A retainer in trust is refunded through a trust refund request (two approvers).")
        if payment.status == OnlinePayment.Status.STARTED or not payment.payment_intent_id:
            raise ValidationError("Only a received payment can be refunded.")
        left = payment.amount_minor - max(payment.refunded_minor, payment.refund_asked_minor)
        if amount.currency != payment.currency or not 0 < amount.minor <= left:
            raise ValidationError(f"At most {Money(left, payment.currency).format()} of this payment can be refunded.")
        key = _key("refund")
        payment.refund_asked_minor = max(payment.refunded_minor, payment.refund_asked_minor) + amount.minor
        payment.save(update_fields=["refund_asked_minor"])
        audit_record(
            AuditAction.STRIPE_REFUND_REQUEST,
            actor=by,
            target=payment,
            data={"amount_minor": amount.minor, "idempotency_key": key},
        )
    assert payment.account.stripe_account_id is not None
    return gateway.refund_create(
        account_id=payment.account.stripe_account_id,
        payment_intent_id=payment.payment_intent_id,
        amount_minor=amount.minor,
        idempotency_key=key,
    )
