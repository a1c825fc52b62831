"""The monthly itemised fee statement: fees Stripe billed to the platform for the firm's trust charges.

The trust account never pays its own fees; the platform does, and the firm's
operating side repays the month's total. Staff with billing access see it per
month (``?month=YYYY-MM``, the current month by default) and download it as
CSV; every look is audited. A firm admin records the month's repayment from the
operating side (``billing.stripe.fees.fee_statement_repay``: the ledger entry, the
statement marked repaid, audited; a second time is refused).
"""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.money import Money
from billing.stripe.fees import fee_statement, fee_statement_csv, fee_statement_repay, fee_statement_repayments
from core.audit.actions import AuditAction
from core.audit.services import audit_record
from core.models import User
from core.roles import MANAGE_FIRM_SETTINGS, VIEW_BILLING
from portal.guards import require_staff, wrong_method


def _month(request: HttpRequest, text: str | None = None) -> tuple[date, str]:
    """The asked month, or this month; a malformed one reads as this month, said on the page."""
    text = request.GET.get("month", "") if text is None else text
    try:
        year, month = (int(part) for part in text.split("-"))
        return date(year, month, 1), ""
    except ValueError:
        today = timezone.localdate().replace(day=1)
        return today, (_("Month: use the form YYYY-MM, e.g. 2026-11.") if text else "")


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
    repaid = {row.currency: row for row in fee_statement_repayments(month=month)}
    return render(
        request,
        "portal/billing_fee_statement.html",
        {
            "fees": fees,
            "month": month,
            "totals": [
                (total, repaid.get(total.currency)) for total in sorted(totals.values(), key=lambda m: m.currency)
            ],
            "problem": problem,
            "may_repay": user.has_perm(MANAGE_FIRM_SETTINGS),
        },
    )


@login_required
def fee_statement_repaid(request: HttpRequest) -> HttpResponse:
    """A firm admin records that the operating side repaid the month's fees in a currency (POST month, currency)."""
    user = require_staff(request, permission=MANAGE_FIRM_SETTINGS)
    if refused := wrong_method(request, "POST"):
        return refused
    month, problem = _month(request, request.POST.get("month", ""))
    back = HttpResponseRedirect(f"{reverse('invoicing:fee_statement')}?month={month:%Y-%m}")
    if problem or not request.POST.get("month"):
        messages.error(request, problem or _("Month: use the form YYYY-MM, e.g. 2026-11."))
        return back
    currency = request.POST.get("currency", "").strip().upper()
    try:
        repayment = fee_statement_repay(month=month, currency=currency, by=user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("Recorded: %(amount)s repaid to the platform from operating for %(month)s.")
            % {"amount": repayment.amount.format(), "month": f"{month:%Y-%m}"},
        )
    return back


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
