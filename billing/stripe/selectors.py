"""Reads for online payments: which accounts take payments, and what staff see of one payment."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from django.db.models import Q, QuerySet
from django.urls import reverse

from billing.ledger.models import JournalEntry
from billing.stripe import gateway
from billing.stripe.gateway import GatewayError, checkout_session_retrieve
from billing.stripe.models import ConnectedAccount, OnlinePayment, RetainerRequest, StripeEvent
from core.audit.models import AuditEntry
from core.mail import firm_link
from core.models import User

if TYPE_CHECKING:
    from billing.invoices.models import Invoice

logger = logging.getLogger(__name__)
Outcome = Literal["succeeded", "refunded", "disputed", "expired", "confirming", "left"]


def online_payment_available(kind: str) -> bool:
    """Whether the firm's ``kind`` account is enabled at Stripe, so clients may pay into it."""
    return ConnectedAccount.objects.filter(
        kind=kind, status=ConnectedAccount.Status.ENABLED, stripe_account_id__isnull=False
    ).exists()


def payment_clients() -> QuerySet[User]:
    """The clients who have started an online payment, by name (the payments list's client filter)."""
    return User.objects.filter(online_payments__isnull=False).distinct().order_by("full_name", "id")


def payment_entries(payment: OnlinePayment) -> QuerySet[JournalEntry]:
    """The ledger entries of ``payment``: its receipt (invoice payment or trust deposit), refunds and disputes."""
    label = OnlinePayment._meta.label_lower
    found = Q(source_type=label, source_id=str(payment.pk))
    if payment.entry_id is not None:
        found |= Q(pk=payment.entry_id)
    return (
        JournalEntry.objects.filter(found)
        .select_related("posted_by")
        .prefetch_related("lines__account")
        .order_by("posted_at", "id")
    )


def payment_events(payment: OnlinePayment) -> QuerySet[StripeEvent]:
    """The Stripe events applied to ``payment``, in the order they were received."""
    return StripeEvent.objects.filter(payment=payment).order_by("received", "id")


def payment_audit(payment: OnlinePayment) -> QuerySet[AuditEntry]:
    """The audit entries about ``payment`` and about the trust refund requests made of it, oldest first."""
    requests = [str(pk) for pk in payment.trust_refunds.values_list("request_id", flat=True)]
    return AuditEntry.objects.filter(
        Q(target_type=OnlinePayment._meta.label_lower, target_id=str(payment.pk))
        | Q(target_type="billing.trustrequest", target_id__in=requests)
    ).order_by("sequence")


@dataclass(frozen=True)
class StripeIds:
    account: str | None
    payment_intent: str | None
    charge: str | None


def payment_stripe_ids(payment: OnlinePayment) -> StripeIds:
    """The connected account, PaymentIntent and (read from Stripe when it answers) charge of ``payment``."""
    account, intent = payment.account.stripe_account_id, payment.payment_intent_id
    charge = None
    if account and intent and payment.status != OnlinePayment.Status.STARTED:
        try:
            charge = gateway.payment_intent_charge(account_id=account, payment_intent_id=intent)
        except gateway.GatewayError:
            charge = None  # Stripe unreachable or not configured: the page shows the rest
    return StripeIds(account=account, payment_intent=intent, charge=charge)


def invoice_pay_link(invoice: Invoice) -> str:
    """The invoice's payment link, absolute on the firm's site ('' when it cannot be paid online now).

    A stable address (the same for the invoice's whole life) that only its client
    can open once signed in; it shows what is due and hands over to Stripe.
    """
    open_states = ("issued", "partially_paid")
    if invoice.status not in open_states or invoice.balance_due_minor <= 0:
        return ""
    if not online_payment_available(ConnectedAccount.Kind.OPERATING):
        return ""
    return firm_link(reverse("invoicing:client_invoice_pay", kwargs={"invoice_id": invoice.pk}))


def retainer_pay_link(retainer: RetainerRequest) -> str:
    """The retainer request's payment link, absolute on the firm's site ('' when it cannot be paid online)."""
    if retainer.status != RetainerRequest.Status.OPEN or not online_payment_available(ConnectedAccount.Kind.TRUST):
        return ""
    return firm_link(reverse("invoicing:client_retainer_pay", kwargs={"retainer_id": retainer.pk}))


def payment_outcome(payment: OnlinePayment, *, left: bool = False) -> Outcome:
    """What the client is told of ``payment`` now.

    Paid (or refunded, disputed) only once the signed event was applied;
    "confirming" when Stripe says the page was paid but the event is still to
    come; "expired" (nothing was charged) when the session ended unpaid, by its
    event or as Stripe reads it now; "left" when the client came back from
    Stripe's page without paying (``left``) and the page is still open.
    """
    if payment.status != OnlinePayment.Status.STARTED:
        return payment.status  # type: ignore[return-value]
    if payment.payment_intent_id:
        return "confirming"
    if payment.checkout_session_id and payment.account.stripe_account_id:
        try:
            session = checkout_session_retrieve(
                account_id=payment.account.stripe_account_id, session_id=payment.checkout_session_id
            )
        except GatewayError as exc:
            logger.warning("checkout session of payment %s not read: %s", payment.pk, exc)
            return "confirming"
        if session.status == "expired":
            return "expired"
        if session.status == "complete":
            return "confirming"
    return "left" if left else "confirming"
