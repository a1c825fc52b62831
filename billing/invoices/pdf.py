"""The invoice as a PDF, in the client's language (WeasyPrint renders billing/invoice_pdf.html).

Text goes through gettext under the client's ``preferred_language``; amounts
and dates are formatted for that locale by Babel (``Money.format``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from babel.dates import format_date
from django.template.loader import render_to_string
from django.utils import translation

from billing.invoices.models import Invoice
from billing.money import Money
from billing.stripe.selectors import invoice_pay_link
from tenants.db import tenant_connection


@dataclass(frozen=True)
class PdfLine:
    code: str
    description: str
    detail: str
    amount: str


def _hours(minutes: int, language: str) -> str:
    from babel.numbers import format_decimal

    return format_decimal(minutes / 60 if minutes % 60 else minutes // 60, format="#,##0.##", locale=language)


def invoice_context(invoice: Invoice, language: str) -> dict[str, object]:
    def money(minor: int) -> str:
        return Money(minor, invoice.currency).format(language)

    def day(value: date | None) -> str:
        return format_date(value, format="long", locale=language) if value else ""

    lines = []
    for line in invoice.lines.all():
        if line.minutes:
            detail = translation.gettext("%(hours)s h x %(rate)s") % {
                "hours": _hours(line.minutes, language),
                "rate": money(line.unit_minor),
            }
        elif line.quantity > 1:
            detail = f"{line.quantity} x {money(line.unit_minor)}"
        else:
            detail = ""
        lines.append(PdfLine(line.code, line.description_in(language), detail, money(line.amount_minor)))
    return {
        "invoice": invoice,
        "firm_name": getattr(tenant_connection().tenant, "name", ""),
        "lines": lines,
        "total": money(invoice.total_minor),
        "paid": money(invoice.paid_minor),
        "credited": money(invoice.credited_minor),
        "written_off": money(invoice.written_off_minor),
        "balance_due": money(max(invoice.balance_due_minor, 0)),
        "issued_on": day(invoice.issued_on),
        "due_on": day(invoice.due_on),
        "status": invoice.get_status_display(),
        "language": language,
        # Absolute, so it works from a printed or forwarded copy (the client signs in to use it).
        "pay_link": invoice_pay_link(invoice),
    }


def invoice_pdf(invoice: Invoice, *, language: str | None = None) -> bytes:
    """The PDF of ``invoice``, in ``language`` (default: the client's preferred language)."""
    language = language or invoice.client.preferred_language or "en"
    with translation.override(language):
        html = render_to_string("billing/invoice_pdf.html", invoice_context(invoice, language))
    # Imported here: WeasyPrint and its font libraries take 0.6 s to load, which every web process,
    # worker and CLI verb that never renders a PDF would otherwise pay at start-up.
    from weasyprint import HTML

    pdf: bytes = HTML(string=html).write_pdf()  # weasyprint is untyped
    return pdf


def invoice_pdf_filename(invoice: Invoice) -> str:
    """Server-chosen: the number only, never anything a user typed."""
    return f"{invoice.display_number.replace(' ', '-').replace('#', '')}.pdf"
