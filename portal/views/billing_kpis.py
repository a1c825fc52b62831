"""Staff KPI pages (issue 13 item 4): every KPI with its formula, chart and drill-down; CSV, PDF, report preview.

Billing staff only (``billing.view_billing``), like the aging. The filters come
from the query string: ``start`` and ``end`` (the period, both days included;
default the last 30 days), ``currency``, ``attorney`` (through
``attorney_for_billing``: 404 for malformed, missing or not staff) and
``matter_type`` (one of the firm's matter type codes; an unknown one is
ignored). The rows behind a KPI are ``kpis/rows/?kpi=<key>`` (CSV: ``kpis/rows.csv``); an unknown key is a 404.
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from billing.access import attorney_for_billing, partner_reports_for_user
from billing.collections.kpis import KPIS, KpiRow, KpiScope, kpi_compute, kpi_csv_lines
from billing.collections.report import (
    kpi_report_build,
    kpi_report_filename,
    kpi_report_html,
    kpi_report_pdf,
    scope_query,
)
from billing.ledger.accounts import default_currency
from billing.money import known_currency
from core.access import staff_to_assign
from core.models import MatterType, User
from core.roles import VIEW_BILLING
from portal.guards import require_staff, wrong_method
from portal.views.access_review import spreadsheet_safe

DEFAULT_DAYS = 30


def _day(request: HttpRequest, name: str, default: date) -> date:
    try:
        return date.fromisoformat(request.GET.get(name, "")[:10])
    except ValueError:
        return default


def kpi_scope(request: HttpRequest, user: User) -> KpiScope:
    """The period and filters from the query string (each id through its accessor)."""
    today = timezone.localdate()
    end = _day(request, "end", today)
    start = _day(request, "start", end - timedelta(days=DEFAULT_DAYS - 1))
    if start > end:
        start, end = end, start
    wanted = request.GET.get("currency", "")
    attorney = attorney_for_billing(user, request.GET["attorney"]) if request.GET.get("attorney") else None
    matter_type = request.GET.get("matter_type", "")
    if matter_type and not MatterType.objects.filter(code=matter_type).exists():
        matter_type = ""
    return KpiScope(
        start=start,
        end=end,
        currency=wanted if known_currency(wanted) else default_currency(),
        attorney=attorney,
        matter_type=matter_type,
    )


def _staff_scope(request: HttpRequest) -> KpiScope:
    user = require_staff(request, permission=VIEW_BILLING)
    return kpi_scope(request, user)


SENT_SHOWN = 20


def _filters(scope: KpiScope) -> dict[str, object]:
    return {
        "scope": scope,
        "query": scope_query(scope),
        "attorneys": staff_to_assign(),
        "matter_types": MatterType.objects.order_by("code"),
    }


@login_required
def kpis_page(request: HttpRequest) -> HttpResponse:
    scope = _staff_scope(request)
    if refused := wrong_method(request, "GET"):
        return refused
    report = kpi_report_build(scope)
    sent = partner_reports_for_user(request.user)[:SENT_SHOWN]
    return render(request, "portal/billing_collections_kpis.html", {"report": report, "sent": sent, **_filters(scope)})


def _kpi(request: HttpRequest) -> tuple[KpiScope, str]:
    """The scope and the KPI the query names ('' for none); an unknown one is a 404."""
    scope = _staff_scope(request)
    key = request.GET.get("kpi", "")
    if key and key not in KPIS:
        raise Http404("No such KPI.")
    return scope, key


def _all_kpis(scope: KpiScope) -> HttpResponse:
    return redirect(f"{reverse('invoicing:collections_kpis')}?{scope_query(scope)}")


def _row_link(row: KpiRow) -> str:
    if row.invoice_id is not None:
        return reverse("invoicing:invoice", kwargs={"invoice_id": row.invoice_id})
    if row.matter_id is not None:
        return reverse("portal:staff_matter", kwargs={"matter_id": row.matter_id})
    return ""


@login_required
def kpi_rows(request: HttpRequest) -> HttpResponse:
    scope, key = _kpi(request)
    if refused := wrong_method(request, "GET"):
        return refused
    if not key:
        return _all_kpis(scope)
    kpi = kpi_compute(key, scope)
    rows = [
        (_row_link(row), ["" if row.cells.get(c) is None else row.cells[c] for c in kpi.columns]) for row in kpi.rows
    ]
    return render(request, "portal/billing_collections_kpi.html", {"kpi": kpi, "rows": rows, **_filters(scope)})


@login_required
def kpi_csv(request: HttpRequest) -> HttpResponse:
    scope, key = _kpi(request)
    if refused := wrong_method(request, "GET"):
        return refused
    if not key:
        return _all_kpis(scope)
    kpi = kpi_compute(key, scope)
    out = io.StringIO()
    csv.writer(out).writerows([[spreadsheet_safe(cell) for cell in line] for line in kpi_csv_lines(kpi, scope)])
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    name = f"kpi-{kpi.key}-{scope.currency}-{scope.start.isoformat()}-{scope.end.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
def kpis_pdf(request: HttpRequest) -> HttpResponse:
    scope = _staff_scope(request)
    if refused := wrong_method(request, "GET"):
        return refused
    report = kpi_report_build(scope, absolute=True)
    response = HttpResponse(kpi_report_pdf(report), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{kpi_report_filename(report)}"'
    return response


@login_required
def partner_report_preview(request: HttpRequest) -> HttpResponse:
    """The weekly partner report as it is emailed (charts as SVG here, PNG in the email), for this scope."""
    scope = _staff_scope(request)
    if refused := wrong_method(request, "GET"):
        return refused
    return HttpResponse(kpi_report_html(kpi_report_build(scope), email=False))
