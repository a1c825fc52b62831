"""The monthly itemised fee statement: fees Stripe billed to the platform for the firm's trust charges.

The trust account never pays its own fees; the platform does, and the firm's
operating side repays the month's total. Staff with billing access see it per
month (``?month=YYYY-MM``, the current month by default) and download it as
CSV; every look is audited.
"""

from __future__ import annotations

from datetime import date

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from billing.money import Money
from billing.stripe.fees import fee_statement, fee_statement_csv
from core.audit.actions import AuditAction
from core.audit.services import audit_record
from core.models import User
from core.roles import VIEW_BILLING
from portal.guards import require_staff, wrong_method


def _month(request: HttpRequest) -> tuple[date, str]:
    """The asked month, or this month; a malformed one reads as this month, said on the page."""
    text = request.GET.get("month", "")
    try:
        year, month = (int(part) for part in text.split("-"))
        return date(year, month, 1), ""
    except ValueError:
        today = timezone.localdate().replace(day=1)
        return today, ("Month: use the form YYYY-MM, e.g. 2026-11." if text else "")


def _audited(user: User, month: date, how: str, rows: list[Money]) -> None:
    audit_record(
        AuditAction.STRIPE_FEE_STATEMENT_VIEW,
        actor=user,
        data={
            "month": month.strftime("%Y-%m"),
            "format": how,
            "count": len(rows),
            "total_minor": sum(m.minor for m in rows),
        },
    )


@login_required
def fee_statement_page(request: HttpRequest) -> HttpResponse:
    user = require_staff(request, permission=VIEW_BILLING)
    if refused := wrong_method(request, "GET"):
        return refused
    month, problem = _month(request)
    fees = list(fee_statement(month=month))
    amounts = [fee.amount for fee in fees]
    totals: dict[str, Money] = {}
    for amount in amounts:
        totals[amount.currency] = totals.get(amount.currency, Money.zero(amount.currency)) + amount
    _audited(user, month, "html", amounts)
    return render(
        request,
        "portal/billing_fee_statement.html",
        {"fees": fees, "month": month, "totals": sorted(totals.values(), key=lambda m: m.currency), "problem": problem},
    )


@login_required
def fee_statement_download(request: HttpRequest) -> HttpResponse:
    user = require_staff(request, permission=VIEW_BILLING)
    if refused := wrong_method(request, "GET"):
        return refused
    month, _problem = _month(request)
    fees = fee_statement(month=month)
    _audited(user, month, "csv", [fee.amount for fee in fees])
    response = HttpResponse(fee_statement_csv(fees), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="platform-fees-{month:%Y-%m}.csv"'
    return response
