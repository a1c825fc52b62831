"""Staff collections pages: reminder tiers and settings, each invoice's reminders, pausing a client, at-risk matters.

Reading needs ``billing.view_billing``; pausing a client's reminders
``billing.manage_invoices``; changing tiers and settings ``core.manage_firm_settings``.
Objects named in the path or the body come through the billing accessors first (404).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.access import client_for_billing, invoice_for_user, reminder_tier_for_user, reminder_tiers_for_user
from billing.collections import services
from billing.collections.at_risk import at_risk_matters
from billing.collections.models import CollectionsSettings, ReminderPause, ReminderTier
from billing.collections.reminders import skip_reason
from billing.ledger.accounts import default_currency
from core.roles import MANAGE_FIRM_SETTINGS, MANAGE_INVOICES, VIEW_BILLING
from portal.collections_forms import CollectionsSettingsForm, PauseForm, ReminderTierForm
from portal.guards import require_staff, signed_in_user, wrong_method


def _tiers_page(request: HttpRequest, *, tier_form: ReminderTierForm | None = None) -> HttpResponse:
    firm_settings = CollectionsSettings.load()
    tiers = list(reminder_tiers_for_user(request.user))
    context = {
        "tiers": [(tier, ReminderTierForm(instance=tier, prefix=f"tier-{tier.pk}")) for tier in tiers],
        "new_form": tier_form or ReminderTierForm(prefix="new"),
        "settings_form": CollectionsSettingsForm(
            initial={
                "quiet_days": firm_settings.quiet_days,
                "at_risk_days": firm_settings.at_risk_days,
                "report_weekday": firm_settings.report_weekday,
                "report_hour": firm_settings.report_hour,
            }
        ),
    }
    return render(request, "portal/billing_collections_reminders.html", context)


@login_required
def reminders_page(request: HttpRequest) -> HttpResponse:
    """GET: the tiers and settings. POST ``what=tier`` (``tier`` id to change one) or ``what=settings``."""
    user = require_staff(request, permission=VIEW_BILLING)
    if refused := wrong_method(request, "GET", "POST"):
        return refused
    if request.method != "POST":
        return _tiers_page(request)
    require_staff(request, permission=MANAGE_FIRM_SETTINGS)
    here = HttpResponseRedirect(reverse("invoicing:collections_reminders"))
    what = request.POST.get("what", "")
    try:
        if what == "settings":
            form = CollectionsSettingsForm(request.POST)
            if not form.is_valid():
                raise ValidationError(list(form.errors.values()))
            services.collections_settings_update(by=user, **form.cleaned_data)
            messages.success(request, _("Collections settings saved."))
        elif what == "tier":
            tier = reminder_tier_for_user(user, request.POST["tier"]) if request.POST.get("tier") else ReminderTier()
            prefix = f"tier-{tier.pk}" if tier.pk else "new"
            tier_form = ReminderTierForm(request.POST, instance=tier, prefix=prefix)
            if not tier_form.is_valid():
                return _tiers_page(request, tier_form=tier_form) if not tier.pk else _invalid(request, tier_form, here)
            services.reminder_tier_save(tier=tier_form.save(commit=False), by=user)
            messages.success(request, _("Reminder tier saved."))
        else:
            messages.error(request, _("Nothing to save."))
    except ValidationError as error:
        messages.error(request, " ".join(str(m) for m in error.messages))
    return here


def _invalid(request: HttpRequest, form: ReminderTierForm, here: HttpResponseRedirect) -> HttpResponse:
    messages.error(
        request, " ".join(f"{field}: {' '.join(str(e) for e in errors)}" for field, errors in form.errors.items())
    )
    return here


@login_required
def invoice_reminders(request: HttpRequest, invoice_id: int) -> HttpResponse:
    """Which reminders went out on the invoice and when, why the next may be held back, pausing its client."""
    invoice = invoice_for_user(signed_in_user(request), invoice_id)
    require_staff(request, permission=VIEW_BILLING)
    if refused := wrong_method(request, "GET"):
        return refused
    context = {
        "invoice": invoice,
        "reminders": invoice.reminders.select_related("tier"),
        "held_back": skip_reason(invoice),
        "pause": ReminderPause.objects.filter(client_id=invoice.client_id).select_related("paused_by").first(),
        "pause_form": PauseForm(),
    }
    return render(request, "portal/billing_collections_invoice.html", context)


@login_required
def client_reminders_pause(request: HttpRequest, client_id: int) -> HttpResponse:
    """POST ``pause`` (with a reason) or ``resume``; back to the invoice named in ``invoice``, or to the aging."""
    user = signed_in_user(request)
    client = client_for_billing(user, client_id)
    require_staff(request, permission=MANAGE_INVOICES)
    if refused := wrong_method(request, "POST"):
        return refused
    back = reverse("invoicing:collections_aging")
    if request.POST.get("invoice"):
        invoice = invoice_for_user(user, request.POST["invoice"])
        back = reverse("invoicing:invoice_reminders", kwargs={"invoice_id": invoice.pk})
    try:
        if request.POST.get("action") == "resume":
            services.reminders_resume(client=client, by=user)
            messages.success(request, _("Reminders to this client resumed."))
        else:
            form = PauseForm(request.POST)
            if not form.is_valid():
                raise ValidationError(_("Say why reminders are paused."))
            services.reminders_pause(client=client, reason=form.cleaned_data["reason"], by=user)
            messages.success(request, _("Reminders to this client paused."))
    except ValidationError as error:
        messages.error(request, " ".join(str(m) for m in error.messages))
    return HttpResponseRedirect(back)


@login_required
def at_risk_page(request: HttpRequest) -> HttpResponse:
    require_staff(request, permission=VIEW_BILLING)
    if refused := wrong_method(request, "GET"):
        return refused
    today = timezone.localdate()
    within = CollectionsSettings.load().at_risk_days
    rows = at_risk_matters(today=today, currency=default_currency(), within_days=within)
    return render(request, "portal/billing_collections_at_risk.html", {"rows": rows, "within": within, "today": today})
