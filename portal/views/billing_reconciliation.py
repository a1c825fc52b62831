"""Staff pages for reconciliation: statement import, matching, the three-way report (page, PDF, CSV), closing a month.

Statements, their lines and the ledger lines they are matched to are reached
through ``billing.access`` (404 for missing, malformed and not reachable).
"""

from __future__ import annotations

import csv
import io
from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from billing.access import (
    bank_statement_for_user,
    bank_statements_for_user,
    statement_line_for_user,
    trust_bank_line_for_user,
)
from billing.ledger.models import ClosedMonth
from billing.money import known_currency
from billing.reconciliation import services
from billing.reconciliation.models import BankStatement
from billing.reconciliation.selectors import ThreeWay, month_end, outstanding_ledger_lines, three_way
from billing.reconciliation.statements import StatementError
from billing.trust.models import firm_currency
from core.roles import RECONCILE_TRUST, VIEW_LEDGER
from portal.guards import require_staff, signed_in_user, wrong_method
from portal.ledger_forms import CloseMonthForm, ImportForm, show_refusal


def _import(request: HttpRequest, form: ImportForm) -> BankStatement:
    user = require_staff(request, permission=RECONCILE_TRUST)
    data = form.cleaned_data["file"].read()
    name = form.cleaned_data["file"].name or ""
    if form.cleaned_data["format"] == BankStatement.Format.OFX:
        statement = services.statement_import_ofx(data=data, by=user, filename=name)
    else:
        statement = services.statement_import_csv(
            data=data,
            mapping=form.mapping(),
            currency=form.cleaned_data["currency"],
            by=user,
            filename=name,
            closing_balance=form.cleaned_data["closing_balance_money"],
        )
    services.statement_auto_match(statement=statement, by=user)
    return statement


@login_required
def reconciliation_page(request: HttpRequest) -> HttpResponse:
    """Statements and the import form; with ``?statement=<id>``, its lines and manual matching."""
    require_staff(request, permission=VIEW_LEDGER if request.method == "GET" else RECONCILE_TRUST)
    if refused := wrong_method(request, "GET", "POST"):
        return refused
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            imported = _import(request, form)
        except StatementError as exc:
            form.add_error(None, f"Nothing was imported: {exc}.")
        except ValidationError as exc:
            show_refusal(form, exc)
        else:
            matched = imported.lines.filter(matched_line__isnull=False).count()
            messages.success(request, f"Imported {imported.lines.count()} lines; {matched} matched automatically.")
            return HttpResponseRedirect(f"{reverse('ledger:reconciliation')}?statement={imported.pk}")
    statement: BankStatement | None = None
    if wanted := request.GET.get("statement", ""):
        statement = bank_statement_for_user(signed_in_user(request), wanted)
    context = {
        "form": form,
        "statements": bank_statements_for_user(signed_in_user(request))[:24],
        "statement": statement,
        "lines": statement.lines.select_related("matched_line__entry") if statement else [],
        "outstanding": (
            outstanding_ledger_lines(period_end=statement.period_end, currency=statement.currency) if statement else []
        ),
    }
    return render(request, "portal/billing_reconciliation.html", context)


@login_required
def reconciliation_match(request: HttpRequest) -> HttpResponse:
    user = require_staff(request, permission=RECONCILE_TRUST)
    if refused := wrong_method(request, "POST"):
        return refused
    line = statement_line_for_user(user, request.POST.get("statement_line"))
    try:
        if request.POST.get("action") == "unmatch":
            services.statement_unmatch(statement_line=line, by=user)
        elif not request.POST.get("journal_line"):
            raise ValidationError("Choose the ledger line it matches.")
        else:
            ledger_line = trust_bank_line_for_user(user, request.POST.get("journal_line"))
            services.statement_match(statement_line=line, journal_line=ledger_line, by=user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return HttpResponseRedirect(f"{reverse('ledger:reconciliation')}?statement={line.statement_id}")


@login_required
def reconciliation_close(request: HttpRequest) -> HttpResponse:
    """Sign off a month that balances (POST ``month`` as YYYY-MM and ``currency``); it then takes no trust posting."""
    user = require_staff(request, permission=RECONCILE_TRUST)
    if refused := wrong_method(request, "POST"):
        return refused
    form = CloseMonthForm(request.POST)
    month = _month(form.data.get("month", ""))
    if not form.is_valid() or month is None:
        messages.error(request, "Choose a month such as 2025-03.")
        return HttpResponseRedirect(reverse("ledger:three_way"))
    try:
        services.reconciliation_close_month(month=month, currency=form.cleaned_data["currency"].upper(), by=user)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
    else:
        messages.success(request, f"{month:%B %Y} is closed: trust postings can no longer be dated in it.")
    return HttpResponseRedirect(f"{reverse('ledger:three_way')}?month={month:%Y-%m}")


def _month(text: str) -> date | None:
    try:
        return date.fromisoformat(f"{text}-01") if len(text) == 7 else None
    except ValueError:
        return None


def _report(request: HttpRequest) -> ThreeWay:
    require_staff(request, permission=VIEW_LEDGER)
    first = _month(request.GET.get("month", "")) or timezone.localdate()
    currency = request.GET.get("currency", "").upper() or firm_currency()
    if not known_currency(currency):
        currency = firm_currency()
    return three_way(period_end=month_end(first), currency=currency)


@login_required
def three_way_page(request: HttpRequest) -> HttpResponse:
    report = _report(request)
    if refused := wrong_method(request, "GET"):
        return refused
    closed = ClosedMonth.objects.filter(month=report.period_end.replace(day=1), currency=report.currency).first()
    return render(request, "portal/billing_three_way.html", {"report": report, "closed": closed})


@login_required
def three_way_pdf(request: HttpRequest) -> HttpResponse:
    report = _report(request)
    if refused := wrong_method(request, "GET"):
        return refused
    from weasyprint import HTML

    html = render_to_string("portal/billing_three_way_pdf.html", {"report": report, "firm": request.tenant})  # type: ignore[attr-defined]
    response = HttpResponse(HTML(string=html).write_pdf(), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="three-way-{report.period_end:%Y-%m}.pdf"'
    return response


def three_way_rows(report: ThreeWay) -> list[list[str]]:
    rows = [
        ["section", "item", "amount_minor", "currency"],
        ["bank", "statement closing balance", str(report.statement_balance.minor), report.currency],
        ["bank", "deposits in transit", str(report.deposits_in_transit.minor), report.currency],
        ["bank", "outstanding withdrawals", str(-report.outstanding_withdrawals.minor), report.currency],
        ["bank", "adjusted bank balance", str(report.adjusted_bank.minor), report.currency],
        ["book", "trust book balance", str(report.book_balance.minor), report.currency],
        ["clients", "sum of client ledgers", str(report.client_ledgers.minor), report.currency],
    ]
    rows += [
        ["client", f"{row.client} {row.matter}", str(row.balance.minor), report.currency] for row in report.clients
    ]
    rows += [
        [
            "discrepancy",
            f"{line.posted_on} {line.description} {line.reference}".strip(),
            str(line.amount_minor),
            report.currency,
        ]
        for line in report.discrepancies
    ]
    rows.append(["result", "balanced" if report.balanced else "NOT balanced", "", report.currency])
    return rows


@login_required
def three_way_csv(request: HttpRequest) -> HttpResponse:
    report = _report(request)
    if refused := wrong_method(request, "GET"):
        return refused
    out = io.StringIO()
    csv.writer(out).writerows(three_way_rows(report))
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="three-way-{report.period_end:%Y-%m}.csv"'
    return response
