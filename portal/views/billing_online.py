"""Staff pages for online payments: the payments list (filter by state and account), refunds, retainer requests."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse

from billing.access import matter_for_billing, online_payment_for_user, online_payments_for_user
from billing.ledger.accounts import default_currency
from billing.money import Money
from billing.stripe.gateway import GatewayError
from billing.stripe.models import ConnectedAccount, OnlinePayment
from billing.stripe.services import payment_refund, retainer_request_create
from core.roles import MANAGE_INVOICES, VIEW_BILLING
from portal.guards import require_staff, signed_in_user, wrong_method


def _back() -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("invoicing:online_payments"))


@login_required
def online_payments(request: HttpRequest) -> HttpResponse:
    user = require_staff(request, permission=VIEW_BILLING)
    if refused := wrong_method(request, "GET"):
        return refused
    rows = online_payments_for_user(user).select_related("client", "matter", "invoice", "retainer")
    status, kind = request.GET.get("status", ""), request.GET.get("account", "")
    if status in OnlinePayment.Status.values:
        rows = rows.filter(status=status)
    if kind in ConnectedAccount.Kind.values:
        rows = rows.filter(account_kind=kind)
    return render(
        request,
        "portal/billing_online_payments.html",
        {
            "payments": rows[:200],
            "statuses": OnlinePayment.Status.choices,
            "kinds": ConnectedAccount.Kind.choices,
            "status": status,
            "kind": kind,
        },
    )


@login_required
def online_payment_refund(request: HttpRequest, payment_id: int) -> HttpResponse:
    """Refund (part of) an online invoice payment; the ledger follows Stripe's ``charge.refunded`` event."""
    payment = online_payment_for_user(signed_in_user(request), payment_id)
    user = require_staff(request, permission=MANAGE_INVOICES)
    if refused := wrong_method(request, "POST"):
        return refused
    try:
        amount = Money.parse(request.POST.get("amount", ""), payment.currency)
    except ValueError as exc:
        messages.error(request, f"Amount: {exc}")
        return _back()
    try:
        payment_refund(payment=payment, amount=amount, by=user)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    except GatewayError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Refund of {amount.format()} asked of Stripe; it is posted when Stripe confirms it.")
    return _back()


@login_required
def retainer_request(request: HttpRequest) -> HttpResponse:
    """Ask a matter's client for a retainer into trust; they pay it from the portal."""
    user = require_staff(request, permission=MANAGE_INVOICES)
    if refused := wrong_method(request, "POST"):
        return refused
    matter = matter_for_billing(user, request.POST.get("matter_id"))
    purpose = request.POST.get("purpose", "").strip()
    try:
        amount = Money.parse(request.POST.get("amount", ""), default_currency())
        if not purpose:
            raise ValidationError("Say what the retainer is for.")
        retainer_request_create(matter=matter, amount=amount, purpose=purpose, by=user)
    except ValueError as exc:
        messages.error(request, f"Amount: {exc}")
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.success(request, f"Retainer of {amount.format()} requested from the client of {matter.reference}.")
    return _back()
