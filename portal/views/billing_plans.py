"""Payment plans: billing staff offer one on an open invoice and follow it; the client accepts it by saving a card.

Staff: the offer form is on the invoice page (``portal/templatetags/payment_plans.py``),
the plans list and a plan's page show each installment's state, attempts and Stripe ids;
cancelling is audited. The client's plan page (phone-first, in their language) shows the
schedule; accepting makes a SetupIntent on the firm's operating account and shows
Stripe's card form (Stripe.js confirms it in the browser), which returns to the plan
page, where the SetupIntent is read back from Stripe: once it succeeded the plan is active.
"""

from __future__ import annotations

import logging
from datetime import date

from babel.dates import format_date
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation

from billing.access import invoice_for_user, payment_plan_for_user, payment_plans_for_user
from billing.stripe.gateway import GatewayError
from billing.stripe.models import PaymentPlan
from billing.stripe.plans import plan_accept, plan_cancel, plan_offer, plan_setup_refresh
from core.models import User
from core.roles import MANAGE_INVOICES, VIEW_BILLING
from portal.guards import require_staff, signed_in_user, wrong_method

logger = logging.getLogger(__name__)


# --- Staff ---------------------------------------------------------------------------------------------------


@login_required
def plan_offer_view(request: HttpRequest, invoice_id: int) -> HttpResponse:
    """Offer the invoice's client a plan (POST ``installments``, ``interval``, ``first_due_on``)."""
    invoice = invoice_for_user(signed_in_user(request), invoice_id)
    user = require_staff(request, permission=MANAGE_INVOICES)
    if refused := wrong_method(request, "POST"):
        return refused
    back = HttpResponseRedirect(reverse("invoicing:invoice", args=[invoice.pk]))
    try:
        count = int(request.POST.get("installments", ""))
        first = date.fromisoformat(request.POST.get("first_due_on", ""))
    except ValueError:
        messages.error(request, translation.gettext("Give the number of installments and the first date (YYYY-MM-DD)."))
        return back
    try:
        plan = plan_offer(
            invoice=invoice, installments=count, interval=request.POST.get("interval", ""), first_due_on=first, by=user
        )
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
        return back
    messages.success(
        request,
        translation.gettext("Plan offered: %(count)s installments; the client accepts it in the portal.")
        % {"count": plan.installment_count},
    )
    return back


@login_required
def plans(request: HttpRequest) -> HttpResponse:
    """Every plan of the firm, filtered by state."""
    user = require_staff(request, permission=VIEW_BILLING)
    if refused := wrong_method(request, "GET"):
        return refused
    rows = payment_plans_for_user(user).select_related("invoice", "client", "matter")
    status = request.GET.get("status", "")
    if status in PaymentPlan.Status.values:
        rows = rows.filter(status=status)
    return render(
        request,
        "portal/billing_plans.html",
        {"plans": rows[:200], "statuses": PaymentPlan.Status.choices, "status": status},
    )


@login_required
def plan_detail(request: HttpRequest, plan_id: int) -> HttpResponse:
    """A plan's installments: due date, amount, state, attempts, the last decline, the PaymentIntent."""
    plan = payment_plan_for_user(signed_in_user(request), plan_id)
    require_staff(request, permission=VIEW_BILLING)
    if refused := wrong_method(request, "GET"):
        return refused
    installments = plan.installments.select_related("payment")
    return render(request, "portal/billing_plan.html", {"plan": plan, "installments": installments})


@login_required
def plan_cancel_view(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = payment_plan_for_user(signed_in_user(request), plan_id)
    user = require_staff(request, permission=MANAGE_INVOICES)
    if refused := wrong_method(request, "POST"):
        return refused
    try:
        plan_cancel(plan=plan, by=user, reason=request.POST.get("reason", "").strip())
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.success(request, translation.gettext("Plan cancelled: nothing more will be charged."))
    return HttpResponseRedirect(reverse("invoicing:plan", args=[plan.pk]))


# --- The client -----------------------------------------------------------------------------------------------


def _client_plan(request: HttpRequest, plan_id: int) -> tuple[User, PaymentPlan]:
    user = signed_in_user(request)
    plan = payment_plan_for_user(user, plan_id)
    if plan.client_id != user.pk:  # billing staff reach the plan, but only its client accepts it
        raise Http404("No such payment plan.")
    return user, plan


def _schedule(plan: PaymentPlan, language: str) -> list[tuple[object, str, str]]:
    return [
        (item, item.amount.format(language), format_date(item.due_on, format="medium", locale=language))
        for item in plan.installments.all()
    ]


@login_required
def client_plan(request: HttpRequest, plan_id: int) -> HttpResponse:
    """The client's plan: its schedule and state; where Stripe's card form returns to."""
    user, plan = _client_plan(request, plan_id)
    if refused := wrong_method(request, "GET"):
        return refused
    language = user.preferred_language or "en"
    try:
        plan_setup_refresh(plan=plan)
    except GatewayError as exc:
        logger.warning("payment plan %s not read back from Stripe: %s", plan.pk, exc)
    with translation.override(language):
        return render(
            request,
            "portal/billing_plan_client.html",
            {"plan": plan, "total": plan.total.format(language), "schedule": _schedule(plan, language)},
        )


@login_required
def client_plan_accept(request: HttpRequest, plan_id: int) -> HttpResponse:
    """The client agrees to the schedule: Stripe's form to save a card for it (on the firm's operating account)."""
    user, plan = _client_plan(request, plan_id)
    if refused := wrong_method(request, "POST"):
        return refused
    language = user.preferred_language or "en"
    here = HttpResponseRedirect(reverse("invoicing:client_plan", args=[plan.pk]))
    with translation.override(language):
        if request.POST.get("agree") != "yes":
            messages.error(request, translation.gettext("Tick the box to agree to the schedule."))
            return here
        try:
            setup = plan_accept(plan=plan, by=user)
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
            return here
        except GatewayError as exc:
            logger.warning("payment plan %s not started: %s", plan.pk, exc)
            messages.error(request, translation.gettext("The payment plan could not be started. Please try later."))
            return here
        if plan.status == PaymentPlan.Status.ACTIVE:
            return here
        return render(
            request,
            "portal/billing_plan_setup.html",
            {
                "plan": plan,
                "total": plan.total.format(language),
                "client_secret": setup.client_secret,
                "setup_intent": setup.setup_intent_id,
                "stripe_account": plan.account.stripe_account_id if plan.account else "",
                "publishable_key": settings.PORTICO_STRIPE_PUBLISHABLE_KEY,
            },
        )
