"""Staff pages for reconciliation: statement import, matching, and the monthly three-way report (page, PDF, CSV)."""

from __future__ import annotations

import csv
import io
from datetime import date

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from billing.ledger.models import JournalLine
from billing.reconciliation import services
from billing.reconciliation.models import BankStatement, StatementLine
from billing.reconciliation.selectors import ThreeWay, month_end, outstanding_ledger_lines, three_way
from billing.reconciliation.statements import CsvMapping, StatementError, to_minor
from billing.trust.models import TrustSettings
from core.roles import RECONCILE_TRUST, VIEW_LEDGER
from portal.guards import require_staff, wrong_method


class ImportForm(forms.Form):
    file = forms.FileField()
    format = forms.ChoiceField(choices=BankStatement.Format.choices)
    currency = forms.CharField(max_length=3, initial="USD")
    closing_balance = forms.CharField(max_length=20, required=False, help_text="Needed when the CSV has no balance.")
    date_column = forms.CharField(initial="date")
    date_format = forms.CharField(initial="%Y-%m-%d")
    amount_column = forms.CharField(initial="amount", required=False, help_text="Signed amounts; or debit and credit.")
    debit_column = forms.CharField(required=False)
    credit_column = forms.CharField(required=False)
    description_column = forms.CharField(initial="description", required=False)
    reference_column = forms.CharField(initial="reference", required=False)
    balance_column = forms.CharField(required=False)

    def mapping(self) -> CsvMapping:
        data = self.cleaned_data
        return CsvMapping(
            date=data["date_column"],
            amount=data["amount_column"] or None,
            debit=data["debit_column"] or None,
            credit=data["credit_column"] or None,
            description=data["description_column"] or None,
            reference=data["reference_column"] or None,
            balance=data["balance_column"] or None,
            date_format=data["date_format"],
        )


def _import(request: HttpRequest, form: ImportForm) -> BankStatement:
    user = require_staff(request, permission=RECONCILE_TRUST)
    data = form.cleaned_data["file"].read()
    name = form.cleaned_data["file"].name or ""
    if form.cleaned_data["format"] == BankStatement.Format.OFX:
        statement = services.statement_import_ofx(data=data, by=user, filename=name)
    else:
        currency = form.cleaned_data["currency"].upper()
        closing = form.cleaned_data["closing_balance"]
        statement = services.statement_import_csv(
            data=data,
            mapping=form.mapping(),
            currency=currency,
            by=user,
            filename=name,
            closing_balance_minor=to_minor(closing, currency) if closing else None,
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
        except (StatementError, ValidationError) as exc:
            form.add_error(None, str(exc))
        else:
            matched = imported.lines.filter(matched_line__isnull=False).count()
            messages.success(request, f"Imported {imported.lines.count()} lines; {matched} matched automatically.")
            return HttpResponseRedirect(f"{reverse('ledger:reconciliation')}?statement={imported.pk}")
    statement: BankStatement | None = None
    if (wanted := request.GET.get("statement", "")).isdigit():
        statement = BankStatement.objects.filter(pk=int(wanted)).first()
    context = {
        "form": form,
        "statements": BankStatement.objects.all()[:24],
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
    line = StatementLine.objects.filter(pk=_int(request.POST.get("statement_line"))).first()
    ledger_line = JournalLine.objects.filter(pk=_int(request.POST.get("journal_line"))).first()
    if line is None:
        messages.error(request, "Choose a statement line.")
        return HttpResponseRedirect(reverse("ledger:reconciliation"))
    try:
        if request.POST.get("action") == "unmatch":
            services.statement_unmatch(statement_line=line, by=user)
        elif ledger_line is None:
            raise ValidationError("Choose the ledger line it matches.")
        else:
            services.statement_match(statement_line=line, journal_line=ledger_line, by=user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return HttpResponseRedirect(f"{reverse('ledger:reconciliation')}?statement={line.statement_id}")


def _int(value: str | None) -> int:
    return int(value) if value and value.isdigit() else 0


def _report(request: HttpRequest) -> ThreeWay:
    require_staff(request, permission=VIEW_LEDGER)
    month = request.GET.get("month", "")
    try:
        first = date.fromisoformat(f"{month}-01") if month else timezone.localdate()
    except ValueError:
        first = timezone.localdate()
    currency = request.GET.get("currency", "") or TrustSettings.load().currency
    return three_way(period_end=month_end(first), currency=currency.upper()[:3])


@login_required
def three_way_page(request: HttpRequest) -> HttpResponse:
    report = _report(request)
    if refused := wrong_method(request, "GET"):
        return refused
    return render(request, "portal/billing_three_way.html", {"report": report})


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
        ["bank", "statement closing balance", str(report.statement_balance_minor), report.currency],
        ["bank", "deposits in transit", str(report.deposits_in_transit_minor), report.currency],
        ["bank", "outstanding withdrawals", str(-report.outstanding_withdrawals_minor), report.currency],
        ["bank", "adjusted bank balance", str(report.adjusted_bank_minor), report.currency],
        ["book", "trust book balance", str(report.book_balance_minor), report.currency],
        ["clients", "sum of client ledgers", str(report.client_ledgers_minor), report.currency],
    ]
    rows += [
        ["client", f"{row.client} {row.matter}", str(row.balance_minor), report.currency] for row in report.clients
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
