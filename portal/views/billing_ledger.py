"""Staff pages for the ledger: the chart of accounts with balances, and the hledger export."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render

from billing.exports.hledger import journal_lines
from billing.ledger.models import Account
from billing.ledger.selectors import balances_by_account
from billing.money import Money
from core.roles import VIEW_LEDGER
from portal.guards import require_staff, wrong_method


@login_required
def ledger_accounts(request: HttpRequest) -> HttpResponse:
    require_staff(request, permission=VIEW_LEDGER)
    if refused := wrong_method(request, "GET"):
        return refused
    balances = balances_by_account()
    accounts = Account.objects.select_related("client", "matter").order_by("kind", "name")
    rows = [(account, balances.get(account.pk) or Money.zero(account.currency)) for account in accounts]
    return render(request, "portal/billing_ledger.html", {"rows": rows})


@login_required
def ledger_export_hledger(request: HttpRequest) -> HttpResponseBase:
    require_staff(request, permission=VIEW_LEDGER)
    if refused := wrong_method(request, "GET"):
        return refused
    response = StreamingHttpResponse(
        (f"{line}\n" for line in journal_lines()), content_type="text/plain; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="portico.journal"'
    return response
