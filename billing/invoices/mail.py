"""The email telling a client their invoice was issued: in their language, from the firm, with its links.

``invoice_issued_send(*, invoice_id)`` runs after the issuing transaction
commits (``invoice_issue`` queues it): the amount and due date, an absolute
link to the invoice's PDF in the portal and, when the firm takes card payments,
the invoice's payment link (``billing.stripe.selectors.invoice_pay_link``).
No attachment: the PDF is rendered when the client opens it, so issuing stays fast.
"""

from __future__ import annotations

from babel.dates import format_date
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from billing.invoices.models import Invoice
from billing.stripe.selectors import invoice_pay_link
from core.mail import firm_link, firm_mail
from tenants.db import tenant_connection


def invoice_issued_body(invoice: Invoice, language: str) -> tuple[str, str]:
    """(subject, body) of the email, in ``language``."""
    with translation.override(language):
        values = {
            "number": invoice.display_number,
            "firm": getattr(tenant_connection().tenant, "name", ""),
            "matter": invoice.matter.reference,
            "total": invoice.total.format(language),
            "due": invoice.balance_due.format(language),
            "due_on": format_date(invoice.due_on, format="long", locale=language) if invoice.due_on else "",
        }
        subject = _("Invoice %(number)s from %(firm)s") % values
        lines = [
            _("Your invoice %(number)s for case %(matter)s was issued: %(total)s.") % values,
            _("Balance due: %(due)s, by %(due_on)s.") % values,
            "",
            _("See the invoice: %(link)s")
            % {"link": firm_link(reverse("invoicing:client_invoice_pdf", kwargs={"invoice_id": invoice.pk}))},
        ]
        if pay := invoice_pay_link(invoice):
            lines.append(_("Pay online: %(link)s") % {"link": pay})
    return subject, "\n".join(lines)


def invoice_issued_send(*, invoice_id: int) -> None:
    """Email the client (if still active) that the invoice was issued; a mail failure never undoes the invoice."""
    invoice = Invoice.objects.select_related("client", "matter").filter(pk=invoice_id).first()
    if invoice is None or invoice.status == Invoice.Status.DRAFT or not invoice.client.is_active:
        return
    subject, body = invoice_issued_body(invoice, invoice.client.preferred_language or "en")
    firm_mail(subject=subject, body=body, to=[invoice.client.email], fail_silently=True)
