"""Online payments: the firm admin connects the firm's two Stripe accounts; a client pays an invoice or a retainer.

The firm's settings page lists the trust and the operating account with their
state; creating one and opening Stripe's onboarding are firm-admin actions. The
client's pages speak the client's language: each open invoice and retainer
request has a payment link (a stable address on the firm's site, only for its
client) showing what is due; "Pay" there opens a Stripe-hosted Checkout page on
the right account (no card data reaches Portico), and Stripe sends the client
back to the payment's status page, which says what happened.
"""

from __future__ import annotations

import logging

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
from billing.invoices.models import Invoice
from billing.money import Money
from billing.stripe.gateway import GatewayError
from billing.stripe.models import ConnectedAccount, RetainerRequest
from billing.stripe.selectors import online_payment_available, payment_outcome
from billing.stripe.services import (
    PAYABLE_ONLINE,
    checkout_for_invoice,
    checkout_for_trust_request,
    connected_account_create,
    connected_account_link,
    connected_account_refresh,
)
from billing.trust.models import TrustSettings
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


def _language(request: HttpRequest) -> str:
    return signed_in_user(request).preferred_language or "en"


def typed_amount(text: str, currency: str, language: str) -> Money:
    """An amount a client typed, read as their language writes it ("1.234,50" or "150,5" in Spanish)."""
    cleaned = text.strip().replace(" ", "").replace("\u00a0", "")
    for symbol in ("US$", "$", "€", currency):
        cleaned = cleaned.replace(symbol, "")
    if language == "es" and "," in cleaned and cleaned.rfind(",") > cleaned.rfind("."):
        cleaned = cleaned.replace(".", "").replace(",", ".")  # Spanish: the comma is the decimal mark
    return Money.parse(cleaned, currency)


def _pay_page(
    request: HttpRequest,
    *,
    invoice: Invoice | None = None,
    retainer: RetainerRequest | None = None,
    error: str = "",
    typed: str = "",
    status: int = 200,
) -> HttpResponse:
    """The phone-first page behind a payment link: what is due, an optional partial amount, "Pay"."""
    language = _language(request)
    with translation.override(language):
        context: dict[str, object] = {"invoice": invoice, "retainer": retainer, "error": error, "typed": typed}
        if invoice is not None:
            payable = invoice.status in PAYABLE_ONLINE and invoice.balance_due_minor > 0
            available = online_payment_available(ConnectedAccount.Kind.OPERATING)
            minimum = Money(
                min(TrustSettings.load().partial_payment_minimum_minor, max(invoice.balance_due_minor, 0)),
                invoice.currency,
            )
            context.update(
                due=Money(max(invoice.balance_due_minor, 0), invoice.currency).format(language),
                minimum=minimum.format(language),
                partial=payable and minimum.minor < invoice.balance_due_minor,
                payable=payable,
                available=available,
                action=reverse("invoicing:client_invoice_pay", args=[invoice.pk]),
            )
        else:
            assert retainer is not None
            context.update(
                due=retainer.amount.format(language),
                payable=retainer.status == RetainerRequest.Status.OPEN,
                available=online_payment_available(ConnectedAccount.Kind.TRUST),
                action=reverse("invoicing:client_retainer_pay", args=[retainer.pk]),
            )
        return render(request, "portal/billing_pay.html", context, status=status)


def _refusal(exc: ValidationError | GatewayError) -> str:
    """Why no payment was started, in the active language (the client's)."""
    if isinstance(exc, GatewayError):
        logger.warning("online payment not started: %s", exc)
        return translation.gettext("The payment could not be started. Please try again later.")
    return str(exc.messages[0])


def _to_stripe(url: str) -> HttpResponse:
    # 303: the browser follows with a GET to Stripe's hosted page (never re-posting the form there).
    return HttpResponseRedirect(url, status=303)


@login_required
def invoice_pay(request: HttpRequest, invoice_id: int) -> HttpResponse:
    """The invoice's payment link: GET shows what is due; POST (an amount, or all of it) goes to Stripe's page.

    A card payment on the firm's operating account. Only the invoice's client
    reaches it (billing staff reach the invoice, but it is not theirs to pay).
    """
    user = signed_in_user(request)
    invoice = invoice_for_user(user, invoice_id)
    if invoice.client_id != user.pk or invoice.status == Invoice.Status.DRAFT:
        raise Http404("No such invoice.")
    if refused := wrong_method(request, "GET", "POST"):
        return refused
    if request.method == "GET":
        return _pay_page(request, invoice=invoice)
    typed = str(request.POST.get("amount", ""))[:40]
    with translation.override(_language(request)):
        try:
            amount = typed_amount(typed, invoice.currency, _language(request)) if typed.strip() else None
        except ValueError:
            error = translation.gettext("Enter an amount such as 150.00.")
            return _pay_page(request, invoice=invoice, error=error, typed=typed, status=400)
        try:
            url = checkout_for_invoice(invoice=invoice, by=user, amount=amount)
        except (ValidationError, GatewayError) as exc:
            return _pay_page(request, invoice=invoice, error=_refusal(exc), typed=typed, status=400)
    return _to_stripe(url)


@login_required
def retainer_pay(request: HttpRequest, retainer_id: int) -> HttpResponse:
    """The retainer's payment link: GET shows the amount; POST goes to Stripe's page (the full amount, into trust)."""
    user = signed_in_user(request)
    retainer = retainer_request_for_user(user, retainer_id)
    if retainer.client_id != user.pk:
        raise Http404("No such retainer request.")
    if refused := wrong_method(request, "GET", "POST"):
        return refused
    if request.method == "GET":
        return _pay_page(request, retainer=retainer)
    with translation.override(_language(request)):
        try:
            url = checkout_for_trust_request(retainer=retainer, by=user)
        except (ValidationError, GatewayError) as exc:
            return _pay_page(request, retainer=retainer, error=_refusal(exc), status=400)
    return _to_stripe(url)


@login_required
def payment_status(request: HttpRequest, payment_id: int) -> HttpResponse:
    """Where Stripe's page sends the client back (paid, or left): what happened, in their language."""
    user = signed_in_user(request)
    payment = online_payment_for_user(user, payment_id)
    if payment.client_id != user.pk:
        raise Http404("No such payment.")
    if refused := wrong_method(request, "GET"):
        return refused
    language = user.preferred_language or "en"
    outcome = payment_outcome(payment, left=request.GET.get("left") == "1")
    again = ""
    if outcome in ("expired", "left"):
        if payment.invoice_id is not None:
            again = reverse("invoicing:client_invoice_pay", args=[payment.invoice_id])
        else:
            again = reverse("invoicing:client_retainer_pay", args=[payment.retainer_id])
    with translation.override(language):
        return render(
            request,
            "portal/billing_payment_status.html",
            {"payment": payment, "amount": payment.amount.format(language), "outcome": outcome, "again": again},
        )
