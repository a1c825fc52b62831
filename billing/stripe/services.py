"""Writes for online payments: connecting the firm's two accounts, starting a client's payment, refunds.

A client pays on a Stripe-hosted Checkout page (no card data reaches Portico):
``checkout_for_invoice`` (all or part of the balance, on the operating account)
and ``checkout_for_trust_request`` (a retainer in full, on the trust account)
answer the page's address. Each mutating call to Stripe first saves its idempotency key on a committed row,
then calls the gateway, then saves what Stripe answered: a crash in between,
retried, reuses the key and creates nothing twice at Stripe.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from billing.invoices.models import Invoice
from billing.money import Money
from billing.stripe import gateway
from billing.stripe.models import ConnectedAccount, OnlinePayment, RetainerRequest
from billing.trust.models import TrustSettings
from core.audit.actions import AuditAction
from core.audit.services import audit_record
from core.mail import firm_link
from core.models import Matter, User
from tenants.current import current_firm
from tenants.models import StripeAccountRoute

PAYABLE_ONLINE = frozenset({Invoice.Status.ISSUED, Invoice.Status.PARTIALLY_PAID})
# Stripe keeps an unpaid Checkout Session open this long (it allows 30 minutes to 24 hours).
CHECKOUT_EXPIRY = timedelta(hours=1)
# A session closer than this to its end is not offered again: the client might not finish in time.
CHECKOUT_REUSE_MARGIN = timedelta(minutes=10)


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


def _reusable(*, purpose: str, client: User, amount: Money, **target: object) -> OnlinePayment | None:
    """The client's payment of the same thing and amount started a moment ago, whose Stripe page is still open.

    A double tap on "Pay", or "Pay" again after a crash between the call and
    the save, goes back to the same Checkout Session instead of opening a
    second one that could be paid as well.
    """
    fresh = timezone.now() + CHECKOUT_REUSE_MARGIN
    return (
        OnlinePayment.objects.filter(
            purpose=purpose,
            client=client,
            amount_minor=amount.minor,
            currency=amount.currency,
            status=OnlinePayment.Status.STARTED,
            payment_intent_id__isnull=True,
            checkout_expires_at__gt=fresh,
            **target,
        )
        .order_by("-created", "-id")
        .first()
    )


def _close_earlier(payment: OnlinePayment, target: dict[str, object]) -> None:
    """Close the client's other open Stripe pages for the same invoice or retainer before opening a new one.

    Only one page can be paid, so a client who left a page for 150 and now pays
    200 is not charged both. A page Stripe will not close was paid meanwhile:
    then no new page is opened (the earlier payment's event is on its way).
    """
    earlier = OnlinePayment.objects.filter(
        client_id=payment.client_id,
        status=OnlinePayment.Status.STARTED,
        checkout_session_id__isnull=False,
        checkout_expires_at__gt=timezone.now(),
        **target,
    ).exclude(pk=payment.pk)
    for other in earlier.select_related("account"):
        assert other.account.stripe_account_id is not None
        assert other.checkout_session_id is not None
        try:
            gateway.checkout_session_expire(
                account_id=other.account.stripe_account_id,
                session_id=other.checkout_session_id,
                idempotency_key=f"{other.idempotency_key}-expire",  # derived from the key saved on the row
            )
        except gateway.GatewayError as exc:
            session = gateway.checkout_session_retrieve(
                account_id=other.account.stripe_account_id, session_id=other.checkout_session_id
            )
            if session.status != "expired":
                raise ValidationError(
                    _("Your payment of %(amount)s is being confirmed. Please wait for it before paying again.")
                    % {"amount": other.amount.format(translation.get_language() or "en")}
                ) from exc
        OnlinePayment.objects.filter(pk=other.pk, status=OnlinePayment.Status.STARTED).update(
            status=OnlinePayment.Status.EXPIRED
        )


def _checkout(
    *,
    purpose: str,
    account: ConnectedAccount,
    client: User,
    matter: Matter,
    amount: Money,
    description: str,
    invoice: Invoice | None = None,
    retainer: RetainerRequest | None = None,
) -> str:
    """A Stripe-hosted Checkout Session for ``amount`` on ``account``; its address (the client is sent there)."""
    target: dict[str, object] = {"invoice": invoice} if invoice is not None else {"retainer": retainer}
    with transaction.atomic():  # committed before the call: the key outlives a crash
        # Two taps at once: the second waits here, then finds the first's payment.
        if invoice is not None:
            Invoice.objects.select_for_update(of=("self",)).filter(pk=invoice.pk).first()
        elif retainer is not None:
            RetainerRequest.objects.select_for_update(of=("self",)).filter(pk=retainer.pk).first()
        payment = _reusable(purpose=purpose, client=client, amount=amount, **target)
        if payment is None:
            payment = OnlinePayment.objects.create(
                purpose=purpose,
                account=account,
                account_kind=account.kind,
                client=client,
                matter=matter,
                amount_minor=amount.minor,
                currency=amount.currency,
                idempotency_key=_key(f"checkout-{purpose}"),
                # Whole seconds: a retry under the same key sends exactly the same expiry.
                checkout_expires_at=(timezone.now() + CHECKOUT_EXPIRY).replace(microsecond=0),
                **target,
            )
    if payment.checkout_url:
        return payment.checkout_url
    try:
        _close_earlier(payment, target)
    except ValidationError:
        OnlinePayment.objects.filter(pk=payment.pk).update(status=OnlinePayment.Status.EXPIRED)  # never opened
        raise
    assert account.stripe_account_id is not None  # checked by _enabled
    assert payment.checkout_expires_at is not None
    status = firm_link(reverse("invoicing:client_payment_status", kwargs={"payment_id": payment.pk}))
    session = gateway.checkout_session_create(
        account_id=account.stripe_account_id,
        amount_minor=amount.minor,
        currency=amount.currency,
        description=description,
        metadata={"portico_payment": str(payment.pk), "portico_firm": current_firm().schema_name},
        locale=client.preferred_language or "en",
        success_url=status,
        cancel_url=f"{status}?left=1",
        expires_at=int(payment.checkout_expires_at.timestamp()),
        idempotency_key=payment.idempotency_key,
    )
    with transaction.atomic():
        payment.checkout_session_id = session.session_id
        payment.checkout_url = session.url
        payment.save(update_fields=["checkout_session_id", "checkout_url"])
        audit_record(
            AuditAction.STRIPE_PAYMENT_START,
            actor=client,
            target=payment,
            data={
                "purpose": purpose,
                "account_kind": account.kind,
                "amount_minor": amount.minor,
                "currency": amount.currency,
                "checkout_session": session.session_id,
            },
        )
    return session.url


def invoice_payable_amount(*, invoice: Invoice, amount: Money | None) -> Money:
    """What the client may pay now: the balance, or a part of it no smaller than the firm's minimum.

    The refusals are in the active language (the client's, under the view's override).
    """
    balance = invoice.balance_due
    if amount is None:
        return balance
    if amount.currency != balance.currency:
        raise ValidationError(_("Enter the amount in %(currency)s.") % {"currency": balance.currency})
    language = translation.get_language() or "en"
    minimum = Money(min(TrustSettings.load().partial_payment_minimum_minor, balance.minor), balance.currency)
    if amount.minor > balance.minor:
        raise ValidationError(
            _("You can pay at most the balance due, %(balance)s.") % {"balance": balance.format(language)}
        )
    if amount.minor < max(minimum.minor, 1):
        raise ValidationError(
            _("Pay at least %(minimum)s, or the whole balance of %(balance)s.")
            % {"minimum": minimum.format(language), "balance": balance.format(language)}
        )
    return amount


def checkout_for_invoice(*, invoice: Invoice, by: User, amount: Money | None = None) -> str:
    """Stripe's hosted page for the client to pay ``amount`` of ``invoice`` (default: all that is due).

    A direct charge on the firm's operating account. ``amount`` may be a part of
    the balance, at least the firm's minimum (``TrustSettings.partial_payment_minimum``).
    """
    if invoice.client_id != by.pk:
        raise ValidationError(_("Only the client can pay this invoice online."))
    if invoice.status not in PAYABLE_ONLINE or invoice.balance_due_minor <= 0:
        raise ValidationError(_("This invoice has nothing left to pay."))
    account = _enabled(ConnectedAccount.Kind.OPERATING)
    return _checkout(
        purpose=OnlinePayment.Purpose.INVOICE,
        account=account,
        client=invoice.client,
        matter=invoice.matter,
        amount=invoice_payable_amount(invoice=invoice, amount=amount),
        description=f"{invoice.display_number} ({invoice.matter.reference})",
        invoice=invoice,
    )


def checkout_for_trust_request(*, retainer: RetainerRequest, by: User) -> str:
    """Stripe's hosted page for the client to pay a retainer: the full amount, a direct charge on the trust account."""
    if retainer.client_id != by.pk:
        raise ValidationError(_("Only the client can pay this retainer online."))
    if retainer.status != RetainerRequest.Status.OPEN:
        raise ValidationError(_("This retainer is already paid."))
    return _checkout(
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
    """Ask the matter's client for a retainer into trust; they are emailed its payment link once committed."""
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
    firm, retainer_id = current_firm(), retainer.pk

    def email() -> None:  # once committed, in this firm's schema
        from billing.stripe.mail import retainer_requested_send

        with firm:
            retainer_requested_send(retainer_id=retainer_id)

    transaction.on_commit(email)
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
