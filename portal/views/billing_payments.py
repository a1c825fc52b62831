"""Online payments: the firm admin connects the firm's two Stripe accounts; a client pays an invoice or a retainer.

The firm's settings page lists the trust and the operating account with their
state; creating one and opening Stripe's onboarding are firm-admin actions. The
client's pages speak the client's language: "Pay" starts a card payment on the
right account and shows the payment page; the status page says what happened.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation

from billing.access import (
    connected_account_for_user,
    invoice_for_user,
    online_payment_for_user,
    retainer_request_for_user,
)
from billing.stripe.gateway import GatewayError
from billing.stripe.models import ConnectedAccount, OnlinePayment
from billing.stripe.services import (
    checkout_for_invoice,
    checkout_for_trust_request,
    connected_account_create,
    connected_account_link,
    connected_account_refresh,
)
from core.roles import MANAGE_FIRM_SETTINGS
from portal.guards import require_staff, signed_in_user, wrong_method

logger = logging.getLogger(__name__)


def _settings() -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("portal:firm_settings"))


@login_required
def account_connect(request: HttpRequest) -> HttpResponse:
    """Create the firm's trust or operating account at Stripe (POST ``kind``)."""
    user = require_staff(request, permission=MANAGE_FIRM_SETTINGS)
    if refused := wrong_method(request, "POST"):
        return refused
    kind = request.POST.get("kind", "")
    if kind not in ConnectedAccount.Kind.values:
        messages.error(request, "Choose the trust or the operating account.")
        return _settings()
    try:
        account = connected_account_create(kind=kind, by=user)
    except (ValidationError, GatewayError) as exc:
        messages.error(request, exc.messages[0] if isinstance(exc, ValidationError) else str(exc))
        return _settings()
    messages.success(request, f"The {account.get_kind_display().lower()} account was created; finish its onboarding.")
    return _settings()


@login_required
def account_onboard(request: HttpRequest, account_id: int) -> HttpResponse:
    """Send the firm admin to Stripe's onboarding for the account (Stripe sends expired links back here)."""
    user = signed_in_user(request)
    account = connected_account_for_user(user, account_id)
    user = require_staff(request, permission=MANAGE_FIRM_SETTINGS)
    if refused := wrong_method(request, "GET"):
        return refused
    here = request.build_absolute_uri(reverse("portal:stripe_account_onboard", args=[account.pk]))
    back = request.build_absolute_uri(reverse("portal:stripe_account_return", args=[account.pk]))
    try:
        url = connected_account_link(account=account, by=user, refresh_url=here, return_url=back)
    except (ValidationError, GatewayError) as exc:
        messages.error(request, exc.messages[0] if isinstance(exc, ValidationError) else str(exc))
        return _settings()
    return HttpResponseRedirect(url)


@login_required
def account_return(request: HttpRequest, account_id: int) -> HttpResponse:
    """Back from Stripe's onboarding: read the account's state again."""
    account = connected_account_for_user(signed_in_user(request), account_id)
    require_staff(request, permission=MANAGE_FIRM_SETTINGS)
    if refused := wrong_method(request, "GET"):
        return refused
    try:
        connected_account_refresh(account=account)
    except GatewayError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"The {account.kind} account is {account.get_status_display().lower()}.")
    return _settings()


def _pay_page(request: HttpRequest, payment: OnlinePayment, client_secret: str) -> HttpResponse:
    language = signed_in_user(request).preferred_language or "en"
    with translation.override(language):
        return render(
            request,
            "portal/billing_pay.html",
            {
                "payment": payment,
                "amount": payment.amount.format(language),
                "client_secret": client_secret,
                # Direct charges: Stripe.js confirms on the connected account the charge was made on.
                "stripe_account": payment.account.stripe_account_id,
                "publishable_key": settings.PORTICO_STRIPE_PUBLISHABLE_KEY,
            },
        )


def _refused(request: HttpRequest, exc: ValidationError | GatewayError) -> HttpResponse:
    language = signed_in_user(request).preferred_language or "en"
    with translation.override(language):
        if isinstance(exc, GatewayError):
            logger.warning("online payment not started: %s", exc)
            message = translation.gettext("The payment could not be started. Please try again later.")
        else:
            message = exc.messages[0]
        messages.error(request, message)
    return HttpResponseRedirect(reverse("invoicing:client"))


@login_required
def invoice_pay(request: HttpRequest, invoice_id: int) -> HttpResponse:
    """The client pays what remains due on their invoice (a card payment on the firm's operating account)."""
    user = signed_in_user(request)
    invoice = invoice_for_user(user, invoice_id)
    if invoice.client_id != user.pk:  # billing staff reach the invoice, but only its client pays it here
        raise Http404("No such invoice.")
    if refused := wrong_method(request, "POST"):
        return refused
    try:
        payment, secret = checkout_for_invoice(invoice=invoice, by=user)
    except (ValidationError, GatewayError) as exc:
        return _refused(request, exc)
    return _pay_page(request, payment, secret)


@login_required
def retainer_pay(request: HttpRequest, retainer_id: int) -> HttpResponse:
    """The client pays a retainer the firm asked for (a card payment of the full amount on the trust account)."""
    user = signed_in_user(request)
    retainer = retainer_request_for_user(user, retainer_id)
    if retainer.client_id != user.pk:
        raise Http404("No such retainer request.")
    if refused := wrong_method(request, "POST"):
        return refused
    try:
        payment, secret = checkout_for_trust_request(retainer=retainer, by=user)
    except (ValidationError, GatewayError) as exc:
        return _refused(request, exc)
    return _pay_page(request, payment, secret)


@login_required
def payment_status(request: HttpRequest, payment_id: int) -> HttpResponse:
    """Where the client lands after paying: what Portico knows of the payment now."""
    user = signed_in_user(request)
    payment = online_payment_for_user(user, payment_id)
    if payment.client_id != user.pk:
        raise Http404("No such payment.")
    if refused := wrong_method(request, "GET"):
        return refused
    language = user.preferred_language or "en"
    with translation.override(language):
        return render(
            request,
            "portal/billing_payment_status.html",
            {"payment": payment, "amount": payment.amount.format(language)},
        )
