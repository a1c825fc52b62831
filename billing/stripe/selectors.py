"""Reads for online payments: which accounts take payments, and what staff see of one payment."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from billing.ledger.models import JournalEntry
from billing.stripe import gateway
from billing.stripe.models import ConnectedAccount, OnlinePayment, StripeEvent
from core.audit.models import AuditEntry
from core.models import User


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
