"""Staff pages for trust money: balances and tasks, deposits, disbursement and refund requests, client ledgers.

Access follows ``portal.guards``: signed in, then the object (a matter through
``matter_for_ledger``, requests and deposits through ``billing.access``: 404
when missing, not reachable or malformed), then staff and the billing
permission (403), then the method (405). Amounts are typed in the firm's
currency and shown in the reader's locale.
"""

from __future__ import annotations

import csv
import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from billing.access import (
    matters_for_billing,
    trust_deposit_for_user,
    trust_deposits_for_user,
    trust_request_for_user,
    trust_requests_for_user,
)
from billing.ledger.accounts import account_for
from billing.ledger.models import Account
from billing.money import Money
from billing.reconciliation.selectors import client_balances
from billing.trust import services
from billing.trust.models import BillingTask, TrustSettings, firm_currency
from billing.trust.policy import trust_settings_update
from billing.trust.requests import trust_request_approve, trust_request_create, trust_request_reject
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
from portal.ledger_forms import ClearForm, DecisionForm, DepositForm, RequestForm, TrustSettingsForm, show_refusal


def _refusal_text(exc: ValidationError | PermissionDenied) -> str:
    return " ".join(getattr(exc, "messages", [str(exc)]))


@login_required
def trust_overview(request: HttpRequest) -> HttpResponse:
    require_staff(request, permission=VIEW_LEDGER)
    if refused := wrong_method(request, "GET"):
        return refused
    currency = firm_currency()
    context = {
        "currency": currency,
        "balances": client_balances(period_end=timezone.localdate(), currency=currency),
        "pending": pending_requests(),
        "tasks": BillingTask.objects.filter(done_at__isnull=True).select_related("client", "matter")[:100],
        "deposits": trust_deposits_for_user(signed_in_user(request)).select_related("matter", "client")[:25],
        "settings": TrustSettings.load(),
    }
    return render(request, "portal/billing_trust.html", context)


@login_required
def trust_deposit_page(request: HttpRequest) -> HttpResponse:
    user = require_staff(request, permission=MANAGE_TRUST)
    if refused := wrong_method(request, "GET", "POST"):
        return refused
    form = DepositForm(request.POST or None, currency=firm_currency(), matters=matters_for_billing(request.user))
    if request.method == "POST" and form.is_valid():
        matter = form.cleaned_data["matter"]
        try:
            services.trust_deposit(
                client=matter.client,
                matter=matter,
                amount=form.cleaned_data["amount"],
                method=form.cleaned_data["method"],
                reference=form.cleaned_data["reference"],
                received_on=form.cleaned_data["received_on"],
                cleared_on=form.cleaned_data["cleared_on"],
                by=user,
            )
        except ValidationError as exc:
            show_refusal(form, exc)
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
    if not form.is_valid():
        messages.error(request, "Choose a deposit and a date such as 2025-03-31.")
        return HttpResponseRedirect(reverse("ledger:trust"))
    deposit = trust_deposit_for_user(user, form.cleaned_data["deposit_id"])
    try:
        services.trust_deposit_clear(
            deposit=deposit, cleared_on=form.cleaned_data["cleared_on"] or timezone.localdate(), by=user
        )
    except ValidationError as exc:
        messages.error(request, _refusal_text(exc))
    else:
        messages.success(request, f"Deposit for {deposit.matter.reference} marked as cleared.")
    return HttpResponseRedirect(reverse("ledger:trust"))


@login_required
def trust_settings_page(request: HttpRequest) -> HttpResponse:
    """The firm's trust policy: currency, approval and low-balance thresholds (as amounts), applying trust."""
    user = require_staff(request, permission=MANAGE_FIRM_SETTINGS)
    if refused := wrong_method(request, "GET", "POST"):
        return refused
    current = TrustSettings.load()
    initial = {
        "currency": firm_currency(),
        "two_approver_threshold": str(current.two_approver_threshold.as_decimal()),
        "low_balance": str(current.low_balance.as_decimal()),
        "apply_trust_to_invoices": current.apply_trust_to_invoices,
        "partial_payment_minimum": str(current.partial_payment_minimum.as_decimal()),
    }
    form = TrustSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            trust_settings_update(by=user, **form.cleaned_data)
        except ValidationError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, "Trust settings saved.")
            return HttpResponseRedirect(reverse("ledger:trust"))
    return render(request, "portal/billing_trust_settings.html", {"form": form})


@login_required
def trust_requests_page(request: HttpRequest) -> HttpResponse:
    user = require_staff(request, permission=VIEW_LEDGER if request.method == "GET" else MANAGE_TRUST)
    if refused := wrong_method(request, "GET", "POST"):
        return refused
    form = RequestForm(request.POST or None, currency=firm_currency(), matters=matters_for_billing(request.user))
    if request.method == "POST" and form.is_valid():
        try:
            trust_request_create(
                kind=form.cleaned_data["kind"],
                matter=form.cleaned_data["matter"],
                amount=form.cleaned_data["amount"],
                payee=form.cleaned_data["payee"],
                purpose=form.cleaned_data["purpose"],
                by=user,
            )
        except ValidationError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, "Request recorded; it waits for approval.")
            return HttpResponseRedirect(reverse("ledger:trust_requests"))
    recent = (
        trust_requests_for_user(signed_in_user(request))
        .select_related("client", "matter", "requested_by")
        .prefetch_related("approvals__approver")[:50]
    )
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
    trust_request = trust_request_for_user(user, form.cleaned_data["request_id"])
    try:
        if form.cleaned_data["decision"] == "approve":
            trust_request_approve(request=trust_request, by=user)
        else:
            trust_request_reject(request=trust_request, by=user, reason=form.cleaned_data["reason"])
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, _refusal_text(exc))
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
    balance = rows[-1].balance if rows else None
    return render(
        request,
        "portal/billing_client_ledger.html",
        {"matter": matter, "account": account, "rows": rows, "balance": balance or Money.zero(account.currency)},
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
        ledgers.append(
            {"account": account, "rows": rows, "balance": rows[-1].balance if rows else Money.zero(account.currency)}
        )
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
                row.deposit.minor,
                row.withdrawal.minor,
                row.balance.minor,
                account.currency,
            ]
        )
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="client-ledger-{matter.reference}.csv"'
    return response
