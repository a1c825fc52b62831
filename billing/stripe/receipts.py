"""The receipt a client gets by email when an online payment succeeds, in the client's language.

Sent once the transaction that posted the payment commits (a rolled-back
event sends nothing; a duplicate event never reaches here), from the firm
through Portico (``core.mail``), with a link to the payment's status page.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from billing.stripe.models import OnlinePayment
from core.mail import firm_link, firm_mail
from tenants.db import tenant_connection


def receipt_send_on_commit(payment: OnlinePayment) -> None:
    firm = tenant_connection().tenant  # the callback runs in this firm, whatever schema is current by then

    def send() -> None:
        with firm:
            receipt_send(OnlinePayment.objects.select_related("client", "matter", "invoice").get(pk=payment.pk))

    transaction.on_commit(send)


def receipt_send(payment: OnlinePayment) -> int:
    client = payment.client
    if not client.is_active or not client.email:
        return 0
    language = client.preferred_language or "en"
    firm = tenant_connection().tenant.name
    with translation.override(language):
        if payment.purpose == OnlinePayment.Purpose.INVOICE and payment.invoice is not None:
            what = _("Invoice %(number)s") % {"number": payment.invoice.display_number}
        else:
            what = _("Retainer into trust for matter %(matter)s") % {"matter": payment.matter.reference}
        subject = _("Receipt for your payment to %(firm)s") % {"firm": firm}
        body = "\n".join(
            [
                _("We received your card payment. Thank you."),
                "",
                _("Amount: %(amount)s") % {"amount": payment.amount.format(language)},
                _("For: %(what)s") % {"what": what},
                _("Date: %(date)s") % {"date": formats.date_format(timezone.localdate(), "DATE_FORMAT")},
                _("Reference: %(reference)s") % {"reference": payment.payment_intent_id},
                "",
                _("See this payment: %(link)s") % {"link": firm_link(f"/portal/billing/payments/{payment.pk}/")},
            ]
        )
    return firm_mail(subject=str(subject), body=body, to=[client.email], fail_silently=True)
