"""Staff collections pages: aging of receivables (page, CSV, PDF) and the invoices behind each figure (page, CSV).

Billing staff only (``billing.view_billing``). Every figure links to the
invoices behind it: the same day, currency and bucket, filtered by the row's
client, matter or attorney. Filter ids in the query string go through the
billing accessors (404 for malformed, missing or not yours).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.access import attorney_for_billing, client_for_billing, matter_for_billing
from billing.collections.aging import (
    BUCKET_LABELS,
    BUCKETS,
    GROUPING_LABELS,
    GROUPINGS,
    AgedInvoice,
    Aging,
    AgingRow,
    aged_invoices,
    aging_report,
)
from billing.ledger.accounts import default_currency
from billing.money import Money, known_currency
from core.roles import VIEW_BILLING
from portal.guards import require_staff, wrong_method
from portal.views.access_review import spreadsheet_safe


@dataclass(frozen=True)
class Cell:
    amount: Money
    link: str


def _as_of(request: HttpRequest) -> date:
    try:
        return date.fromisoformat(request.GET.get("as_of", "")[:10])
    except ValueError:
        return timezone.localdate()


def _currency(request: HttpRequest) -> str:
    wanted = request.GET.get("currency", "")
    return wanted if known_currency(wanted) else default_currency()


def _grouping(request: HttpRequest) -> str:
    wanted = request.GET.get("by", "")
    return wanted if wanted in GROUPINGS else "client"


def _drill_down(aging: Aging, row: AgingRow | None, bucket: str | None) -> str:
    """The address of the invoices behind one figure ('' for lines no invoice claims)."""
    if row is not None and row.unclaimed:
        return ""
    query: dict[str, str] = {"as_of": aging.as_of.isoformat(), "currency": aging.currency}
    if bucket is not None:
        query["bucket"] = bucket
    if row is not None:
        if row.key is None:
            query["unassigned"] = "1"
        else:
            query[aging.by] = str(row.key)
    return f"{reverse('invoicing:collections_invoices')}?{urlencode(query)}"


def _linked(aging: Aging, row: AgingRow, *, totals: bool = False) -> tuple[list[Cell], Cell]:
    target = None if totals else row
    cells = [Cell(amount, _drill_down(aging, target, bucket)) for bucket, amount in row.cells()]
    return cells, Cell(row.total, _drill_down(aging, target, None))


def _report(request: HttpRequest) -> Aging:
    require_staff(request, permission=VIEW_BILLING)
    return aging_report(as_of=_as_of(request), currency=_currency(request), by=_grouping(request))


def _filename(aging: Aging, what: str, ext: str) -> str:
    return f"{what}-{aging.by}-{aging.currency}-{aging.as_of.isoformat()}.{ext}"


def _context(request: HttpRequest, aging: Aging) -> dict[str, object]:
    query = urlencode({"as_of": aging.as_of.isoformat(), "currency": aging.currency, "by": aging.by})
    return {
        "aging": aging,
        "rows": [(row, *_linked(aging, row)) for row in aging.rows],
        "totals": _linked(aging, aging.totals, totals=True),
        "buckets": [BUCKET_LABELS[bucket] for bucket in BUCKETS],
        "groupings": [(key, GROUPING_LABELS[key]) for key in GROUPINGS],
        "grouping_label": GROUPING_LABELS[aging.by],
        "query": query,
        "firm": getattr(request, "tenant", None),
    }


@login_required
def aging_page(request: HttpRequest) -> HttpResponse:
    aging = _report(request)
    if refused := wrong_method(request, "GET"):
        return refused
    return render(request, "portal/billing_collections_aging.html", _context(request, aging))


def aging_rows(aging: Aging) -> list[list[str]]:
    """The CSV: one line per row, amounts in minor units (as the ledger keeps them), and the totals last."""
    header = [aging.by, "invoices", *(f"{bucket}_minor" for bucket in BUCKETS), "total_minor", "currency", "as_of"]
    lines = [header]
    for row in [*aging.rows, aging.totals]:
        amounts = [str(row.minor[bucket]) for bucket in BUCKETS]
        label = row.label if row is not aging.totals else "TOTAL"
        lines.append(
            [
                spreadsheet_safe(label),
                str(row.invoices),
                *amounts,
                str(row.total_minor),
                aging.currency,
                aging.as_of.isoformat(),
            ]
        )
    return lines


def _csv(lines: list[list[str]], filename: str) -> HttpResponse:
    out = io.StringIO()
    csv.writer(out).writerows(lines)
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def aging_csv(request: HttpRequest) -> HttpResponse:
    aging = _report(request)
    if refused := wrong_method(request, "GET"):
        return refused
    return _csv(aging_rows(aging), _filename(aging, "aging", "csv"))


@login_required
def aging_pdf(request: HttpRequest) -> HttpResponse:
    aging = _report(request)
    if refused := wrong_method(request, "GET"):
        return refused
    from weasyprint import HTML

    html = render_to_string("portal/billing_collections_aging_pdf.html", _context(request, aging))
    response = HttpResponse(HTML(string=html).write_pdf(), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{_filename(aging, "aging", "pdf")}"'
    return response


@dataclass(frozen=True)
class _Behind:
    as_of: date
    currency: str
    bucket: str | None
    heading: list[str]
    invoices: list[AgedInvoice]

    @property
    def total(self) -> Money:
        return Money(sum(item.balance.minor for item in self.invoices), self.currency)


def _behind(request: HttpRequest) -> _Behind:
    """The invoices behind a figure: filters from the query string, each id through its accessor."""
    user = require_staff(request, permission=VIEW_BILLING)
    as_of, currency = _as_of(request), _currency(request)
    bucket = request.GET.get("bucket") or None
    if bucket not in (None, *BUCKETS):
        bucket = None
    client = client_for_billing(user, request.GET["client"]) if request.GET.get("client") else None
    matter = matter_for_billing(user, request.GET["matter"]) if request.GET.get("matter") else None
    attorney = attorney_for_billing(user, request.GET["attorney"]) if request.GET.get("attorney") else None
    unassigned = request.GET.get("unassigned") == "1"
    heading = [str(BUCKET_LABELS[bucket]) if bucket else _("All buckets")]
    heading += [who.get_full_name() for who in (client, attorney) if who is not None]
    if matter is not None:
        heading.append(matter.reference)
    if unassigned:
        heading.append(_("No responsible attorney"))
    found = aged_invoices(
        as_of=as_of,
        currency=currency,
        bucket=bucket,
        client=client,
        matter=matter,
        attorney=attorney,
        unassigned=unassigned,
    )
    return _Behind(as_of=as_of, currency=currency, bucket=bucket, heading=heading, invoices=found)


@login_required
def invoices_behind(request: HttpRequest) -> HttpResponse:
    behind = _behind(request)
    if refused := wrong_method(request, "GET"):
        return refused
    return render(
        request,
        "portal/billing_collections_invoices.html",
        {"behind": behind, "query": request.GET.urlencode(), "bucket_labels": BUCKET_LABELS},
    )


@login_required
def invoices_behind_csv(request: HttpRequest) -> HttpResponse:
    behind = _behind(request)
    if refused := wrong_method(request, "GET"):
        return refused
    lines = [
        ["invoice", "client", "matter", "attorney", "due_on", "days_past_due", "bucket", "balance_minor", "currency"]
    ]
    for item in behind.invoices:
        invoice, attorney = item.invoice, item.invoice.matter.responsible_attorney
        lines.append(
            [
                invoice.display_number,
                spreadsheet_safe(invoice.client.get_full_name()),
                spreadsheet_safe(invoice.matter.reference),
                spreadsheet_safe(attorney.get_full_name() if attorney else ""),
                invoice.due_on.isoformat() if invoice.due_on else "",
                str(item.days_past_due),
                item.bucket,
                str(item.balance.minor),
                behind.currency,
            ]
        )
    return _csv(lines, f"aged-invoices-{behind.currency}-{behind.as_of.isoformat()}.csv")
