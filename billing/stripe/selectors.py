"""Reads for online payments."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Literal

from django.urls import reverse

from billing.stripe.gateway import GatewayError, checkout_session_retrieve
from billing.stripe.models import ConnectedAccount, OnlinePayment, RetainerRequest
from core.mail import firm_link

if TYPE_CHECKING:
    from billing.invoices.models import Invoice

logger = logging.getLogger(__name__)
Outcome = Literal["succeeded", "refunded", "disputed", "expired", "confirming", "left"]


def online_payment_available(kind: str) -> bool:
    """Whether the firm's ``kind`` account is enabled at Stripe, so clients may pay into it."""
    return ConnectedAccount.objects.filter(
        kind=kind, status=ConnectedAccount.Status.ENABLED, stripe_account_id__isnull=False
    ).exists()


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
