"""Staff pages for trust money: balances and tasks, deposits, disbursement and refund requests, client ledgers.

Access follows ``portal.guards``: signed in, then the object (a matter through
``matter_for_ledger``: 404 when missing or not reachable), then staff and the
billing permission (403), then the method (405).
"""

from __future__ import annotations

import csv
import io

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from billing.ledger.accounts import account_for
from billing.ledger.models import Account
from billing.reconciliation.selectors import client_balances
from billing.reconciliation.statements import StatementError, to_minor
from billing.trust import services
from billing.trust.models import BillingTask, TrustDeposit, TrustRequest, TrustSettings
from billing.trust.selectors import (
    LedgerRow,
    client_for_ledger,
    client_ledger,
    matter_for_ledger,
    pending_requests,
    trust_accounts,
)
from core.models import Matter
from core.roles import APPROVE_TRUST, MANAGE_FIRM_SETTINGS, MANAGE_TRUST, VIEW_LEDGER
from portal.guards import require_staff, signed_in_user, wrong_method


class MoneyField(forms.CharField):
    """A decimal amount typed by a person, kept as minor units (never a float)."""

    def __init__(self, *, currency: str = "USD", **kwargs: object) -> None:
        self.currency = currency
        super().__init__(max_length=20, **kwargs)  # type: ignore[arg-type]

    def clean(self, value: object) -> int:
        text = super().clean(value)
        try:
            amount = to_minor(text, self.currency)
        except StatementError as exc:
            raise ValidationError("Enter an amount such as 1500.00.") from exc
        if amount <= 0:
            raise ValidationError("Enter a positive amount.")
        return amount


def _matters() -> forms.ModelChoiceField:  # type: ignore[type-arg]
    return forms.ModelChoiceField(queryset=Matter.objects.select_related("client").order_by("reference"))


class DepositForm(forms.Form):
    matter = _matters()
    amount = MoneyField()
    method = forms.ChoiceField(choices=TrustDeposit.Method.choices)
    reference = forms.CharField(max_length=100, required=False)
    received_on = forms.DateField(required=False)
    cleared_on = forms.DateField(required=False)


class RequestForm(forms.Form):
    kind = forms.ChoiceField(choices=TrustRequest.Kind.choices)
    matter = _matters()
    amount = MoneyField()
    payee = forms.CharField(max_length=200, required=False)
    purpose = forms.CharField(max_length=500)


class ClearForm(forms.Form):
    deposit_id = forms.IntegerField()
    cleared_on = forms.DateField(required=False)


class TrustSettingsForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = TrustSettings
        fields = ["currency", "two_approver_threshold_minor", "low_balance_minor", "apply_trust_to_invoices"]
        labels = {
            "two_approver_threshold_minor": "Two approvers above (minor units, e.g. cents)",
            "low_balance_minor": "Low-balance task below (minor units)",
        }


class DecisionForm(forms.Form):
    request_id = forms.IntegerField()
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])
    reason = forms.CharField(max_length=500, required=False)


@login_required
def trust_overview(request: HttpRequest) -> HttpResponse:
    require_staff(request, permission=VIEW_LEDGER)
    if refused := wrong_method(request, "GET"):
        return refused
    settings = TrustSettings.load()
    context = {
        "currency": settings.currency,
        "balances": client_balances(period_end=timezone.localdate(), currency=settings.currency),
        "pending": pending_requests(),
        "tasks": BillingTask.objects.filter(done_at__isnull=True).select_related("client", "matter")[:100],
        "deposits": TrustDeposit.objects.select_related("matter", "client")[:25],
        "settings": settings,
    }
    return render(request, "portal/billing_trust.html", context)


@login_required
def trust_deposit_page(request: HttpRequest) -> HttpResponse:
    user = require_staff(request, permission=MANAGE_TRUST)
    if refused := wrong_method(request, "GET", "POST"):
        return refused
    form = DepositForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        matter = form.cleaned_data["matter"]
        try:
            services.trust_deposit(
                client=matter.client,
                matter=matter,
                amount_minor=form.cleaned_data["amount"],
                method=form.cleaned_data["method"],
                reference=form.cleaned_data["reference"],
                received_on=form.cleaned_data["received_on"],
                cleared_on=form.cleaned_data["cleared_on"],
                by=user,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Deposit recorded in trust for {matter.reference}.")
            return HttpResponseRedirect(reverse("ledger:trust"))
    return render(request, "portal/billing_trust_deposit.html", {"form": form})


@login_required
def trust_deposit_clear(request: HttpRequest) -> HttpResponse:
    """Mark a check or wire as cleared by the bank (POST ``deposit_id``, optional ``cleared_on``)."""
    user = require_staff(request, permission=MANAGE_TRUST)
    if refused := wrong_method(request, "POST"):
        return refused
    form = ClearForm(request.POST)
    deposit = TrustDeposit.objects.filter(pk=form.cleaned_data["deposit_id"]).first() if form.is_valid() else None
    if deposit is None:
        messages.error(request, "Choose a deposit.")
    else:
        services.trust_deposit_clear(
            deposit=deposit, cleared_on=form.cleaned_data["cleared_on"] or timezone.localdate(), by=user
        )
        messages.success(request, f"Deposit for {deposit.matter.reference} marked as cleared.")
    return HttpResponseRedirect(reverse("ledger:trust"))


@login_required
def trust_settings_page(request: HttpRequest) -> HttpResponse:
    """The firm's trust policy: approval threshold, low-balance threshold, currency, applying trust to invoices."""
    user = require_staff(request, permission=MANAGE_FIRM_SETTINGS)
    if refused := wrong_method(request, "GET", "POST"):
        return refused
    current = TrustSettings.load()
    form = TrustSettingsForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        services.trust_settings_update(by=user, **form.cleaned_data)
        messages.success(request, "Trust settings saved.")
        return HttpResponseRedirect(reverse("ledger:trust"))
    return render(request, "portal/billing_trust_settings.html", {"form": form})


@login_required
def trust_requests_page(request: HttpRequest) -> HttpResponse:
    user = require_staff(request, permission=VIEW_LEDGER if request.method == "GET" else MANAGE_TRUST)
    if refused := wrong_method(request, "GET", "POST"):
        return refused
    form = RequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        matter = form.cleaned_data["matter"]
        ask = (
            services.trust_refund_request
            if form.cleaned_data["kind"] == TrustRequest.Kind.REFUND
            else services.trust_disbursement_request
        )
        try:
            ask(
                client=matter.client,
                matter=matter,
                amount_minor=form.cleaned_data["amount"],
                payee=form.cleaned_data["payee"] or matter.client.get_full_name(),
                purpose=form.cleaned_data["purpose"],
                by=user,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "Request recorded; it waits for approval.")
            return HttpResponseRedirect(reverse("ledger:trust_requests"))
    recent = TrustRequest.objects.select_related("client", "matter", "requested_by").prefetch_related(
        "approvals__approver"
    )[:50]
    return render(request, "portal/billing_trust_requests.html", {"form": form, "requests": recent})


@login_required
def trust_request_decide(request: HttpRequest) -> HttpResponse:
    user = require_staff(request, permission=APPROVE_TRUST)
    if refused := wrong_method(request, "POST"):
        return refused
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a request and a decision.")
        return HttpResponseRedirect(reverse("ledger:trust_requests"))
    trust_request = TrustRequest.objects.filter(pk=form.cleaned_data["request_id"]).first()
    if trust_request is None:
        messages.error(request, "That request does not exist.")
        return HttpResponseRedirect(reverse("ledger:trust_requests"))
    try:
        if form.cleaned_data["decision"] == "approve":
            services.trust_request_approve(request=trust_request, by=user)
        else:
            services.trust_request_reject(request=trust_request, by=user, reason=form.cleaned_data["reason"])
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
    else:
        messages.success(request, "Decision recorded.")
    return HttpResponseRedirect(reverse("ledger:trust_requests"))


def _ledger_context(request: HttpRequest, matter_id: int) -> tuple[Matter, Account, list[LedgerRow]]:
    matter = matter_for_ledger(signed_in_user(request), matter_id)
    require_staff(request, permission=VIEW_LEDGER)
    account = account_for(Account.Kind.CLIENT_TRUST, matter=matter)
    return matter, account, list(client_ledger(account=account))


@login_required
def client_ledger_page(request: HttpRequest, matter_id: int) -> HttpResponse:
    matter, account, rows = _ledger_context(request, matter_id)
    if refused := wrong_method(request, "GET"):
        return refused
    return render(
        request,
        "portal/billing_client_ledger.html",
        {"matter": matter, "account": account, "rows": rows, "balance": rows[-1].balance_minor if rows else 0},
    )


@login_required
def client_ledgers_of_client(request: HttpRequest, user_id: int) -> HttpResponse:
    """Every matter's trust ledger of one client, one after the other (billing staff only; others 404)."""
    client = client_for_ledger(signed_in_user(request), user_id)
    if refused := wrong_method(request, "GET"):
        return refused
    ledgers = []
    for account in trust_accounts(client=client).order_by("matter__reference"):
        rows = client_ledger(account=account)
        ledgers.append({"account": account, "rows": rows, "balance": rows[-1].balance_minor if rows else 0})
    return render(request, "portal/billing_client_ledgers.html", {"client": client, "ledgers": ledgers})


@login_required
def client_ledger_csv(request: HttpRequest, matter_id: int) -> HttpResponse:
    matter, account, rows = _ledger_context(request, matter_id)
    if refused := wrong_method(request, "GET"):
        return refused
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["date", "entry", "kind", "memo", "deposit_minor", "withdrawal_minor", "balance_minor", "currency"])
    for row in rows:
        writer.writerow(
            [
                row.occurred_on.isoformat(),
                f"JE-{row.entry_id}",
                row.kind,
                row.memo,
                row.deposit_minor,
                row.withdrawal_minor,
                row.balance_minor,
                account.currency,
            ]
        )
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="client-ledger-{matter.reference}.csv"'
    return response
