"""Payment plans on pages that others own: the staff invoice page and the client's billing page.

Inclusion tags, so those pages need one line each (``{% invoice_payment_plans invoice %}``,
``{% client_payment_plans %}``); the plans come through their accessor, for the signed-in user.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone, translation

from billing.access import payment_plans_for_user
from billing.stripe.models import PaymentPlan
from billing.stripe.plans import LIVE, MAX_INSTALLMENTS
from billing.stripe.selectors import online_payment_available
from billing.stripe.services import PAYABLE_ONLINE

register = template.Library()


@register.inclusion_tag("portal/_plan_invoice.html", takes_context=True)
def invoice_payment_plans(context: dict[str, Any], invoice: Any) -> dict[str, Any]:
    """The invoice's plans for staff, and the offer form while none is live and the invoice is open."""
    user = context["request"].user
    plans = list(payment_plans_for_user(user).filter(invoice=invoice).prefetch_related("installments"))
    offerable = (
        invoice.status in PAYABLE_ONLINE
        and invoice.balance_due_minor > 0
        and not any(plan.status in LIVE for plan in plans)
        and online_payment_available("operating")
    )
    return {
        "invoice": invoice,
        "plans": plans,
        "offerable": offerable,
        "perms": context.get("perms"),
        "csrf_token": context.get("csrf_token"),
        "intervals": PaymentPlan.Interval.choices,
        "max_installments": MAX_INSTALLMENTS,
        "today": timezone.localdate().isoformat(),
    }


@register.inclusion_tag("portal/_plan_client.html", takes_context=True)
def client_payment_plans(context: dict[str, Any]) -> dict[str, Any]:
    """The signed-in client's offered and active plans, with their totals in the page's language."""
    user = context["request"].user
    language = translation.get_language() or "en"
    plans = payment_plans_for_user(user).filter(client=user, status__in=LIVE).select_related("invoice")
    return {"plans": [(plan, plan.total.format(language)) for plan in plans]}
