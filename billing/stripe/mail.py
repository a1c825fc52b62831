"""The email asking a client for a retainer: in their language, from the firm, with the request's payment link.

``retainer_requested_send(*, retainer_id)`` runs after the request is committed
(``services.retainer_request_create`` queues it).
"""

from __future__ import annotations

from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from billing.stripe.models import RetainerRequest
from billing.stripe.selectors import retainer_pay_link
from core.mail import firm_link, firm_mail
from tenants.db import tenant_connection


def retainer_requested_body(retainer: RetainerRequest, language: str) -> tuple[str, str]:
    """(subject, body) of the email, in ``language``."""
    with translation.override(language):
        values = {
            "firm": getattr(tenant_connection().tenant, "name", ""),
            "matter": retainer.matter.reference,
            "amount": retainer.amount.format(language),
            "purpose": retainer.purpose,
        }
        subject = _("%(firm)s asks for a retainer for case %(matter)s") % values
        lines = [
            _("Please pay a retainer of %(amount)s into the firm's trust account for case %(matter)s.") % values,
            values["purpose"],
            "",
        ]
        pay = retainer_pay_link(retainer)
        if pay:
            lines.append(_("Pay online: %(link)s") % {"link": pay})
        else:
            lines.append(_("See your billing page: %(link)s") % {"link": firm_link(reverse("invoicing:client"))})
    return subject, "\n".join(lines)


def retainer_requested_send(*, retainer_id: int) -> None:
    """Email the client (if still active) the request; a mail failure never undoes it."""
    retainer = RetainerRequest.objects.select_related("client", "matter").filter(pk=retainer_id).first()
    if retainer is None or retainer.status != RetainerRequest.Status.OPEN or not retainer.client.is_active:
        return
    subject, body = retainer_requested_body(retainer, retainer.client.preferred_language or "en")
    firm_mail(subject=subject, body=body, to=[retainer.client.email], fail_silently=True)
