"""Billing's panels on the staff home page (registered with ``core.dashboard`` when billing starts).

Each is for the roles that act on it: overdue invoices and drafts awaiting approval (billing staff),
trust requests waiting for this person's approval (approvers; not their own requests, not ones they
approved), low trust balances (trust managers), unbilled time (billing staff).
"""

from __future__ import annotations

import datetime
from urllib.parse import urlencode

from django.db.models import Sum
from django.urls import reverse
from django.utils.translation import gettext as _

from billing.access import invoices_for_user, matters_for_billing
from billing.fees.models import TimeEntry
from billing.invoices.models import Invoice
from billing.trust.models import BillingTask
from billing.trust.selectors import pending_requests
from core.dashboard import Panel, dashboard_provider
from core.models import User
from core.roles import APPROVE_TRUST, MANAGE_TRUST, VIEW_BILLING

OPEN = [Invoice.Status.ISSUED, Invoice.Status.PARTIALLY_PAID]


def _invoice_link(invoice: Invoice) -> str:
    return reverse("invoicing:invoice", kwargs={"invoice_id": invoice.pk})


@dashboard_provider
def overdue_invoices(user: User, today: datetime.date) -> Panel | None:
    if not user.has_perm(VIEW_BILLING):
        return None
    overdue = (
        invoices_for_user(user).filter(status__in=OPEN, due_on__lt=today).select_related("client").order_by("due_on")
    )
    lines = [
        (
            f"#{invoice.number} · {invoice.client.get_full_name()} · {invoice.balance_due} · "
            + _("%(days)s days late") % {"days": (today - invoice.due_on).days},
            _invoice_link(invoice),
        )
        for invoice in overdue[:5]
        if invoice.due_on is not None
    ]
    return Panel(
        key="overdue",
        title=_("Overdue invoices"),
        count=overdue.count(),
        link=reverse("invoicing:collections_aging"),
        lines=lines,
        empty=_("No invoice is overdue."),
    )


@dashboard_provider
def drafts_awaiting_approval(user: User, today: datetime.date) -> Panel | None:
    if not user.has_perm(VIEW_BILLING):
        return None
    drafts = invoices_for_user(user).filter(status=Invoice.Status.DRAFT, needs_review=True).select_related("matter")
    lines = [
        (f"{draft.matter.reference} · {draft.origin_detail or draft.get_origin_display()}", _invoice_link(draft))
        for draft in drafts[:5]
    ]
    return Panel(
        key="drafts",
        title=_("Drafts awaiting approval"),
        count=drafts.count(),
        link=f"{reverse('invoicing:invoices')}?{urlencode({'review': 1})}",
        lines=lines,
        empty=_("No draft waits for approval."),
    )


@dashboard_provider
def trust_approvals_waiting(user: User, today: datetime.date) -> Panel | None:
    if not user.has_perm(APPROVE_TRUST):
        return None
    waiting = pending_requests().exclude(requested_by=user).exclude(approvals__approver=user).order_by("created")
    requests_page = reverse("ledger:trust_requests")
    lines = [
        (
            f"{request.client.get_full_name()} · {request.matter.reference} · {request.amount}",
            reverse("ledger:trust_requests"),
        )
        for request in waiting[:5]
    ]
    return Panel(
        key="trust_approvals",
        title=_("Trust approvals waiting for me"),
        count=waiting.count(),
        link=requests_page,
        lines=lines,
        empty=_("No trust request waits for you."),
    )


@dashboard_provider
def low_trust_balances(user: User, today: datetime.date) -> Panel | None:
    if not user.has_perm(MANAGE_TRUST):
        return None
    low = BillingTask.objects.filter(kind=BillingTask.Kind.LOW_TRUST_BALANCE, done_at__isnull=True).select_related(
        "client"
    )
    lines = [(task.message, reverse("ledger:trust")) for task in low[:5]]
    return Panel(
        key="low_trust",
        title=_("Low trust balances"),
        count=low.count(),
        link=reverse("ledger:trust"),
        lines=lines,
        empty=_("No trust balance is below its threshold."),
    )


@dashboard_provider
def unbilled_time(user: User, today: datetime.date) -> Panel | None:
    if not user.has_perm(VIEW_BILLING):
        return None
    unbilled = TimeEntry.objects.filter(invoice_line__isnull=True, matter__in=matters_for_billing(user))
    by_matter = (
        unbilled.values("matter_id", "matter__reference").annotate(minutes=Sum("minutes")).order_by("-minutes")[:5]
    )
    lines = [
        (
            f"{row['matter__reference']} · {row['minutes'] / 60:.1f} h",
            reverse("invoicing:matter_time", kwargs={"matter_id": row["matter_id"]}),
        )
        for row in by_matter
    ]
    hours = (unbilled.aggregate(total=Sum("minutes"))["total"] or 0) / 60
    return Panel(
        key="unbilled",
        title=_("Unbilled time"),
        count=unbilled.count(),
        link=reverse("invoicing:invoices"),
        lines=[(_("%(hours).1f hours in all") % {"hours": hours}, reverse("invoicing:invoices")), *lines]
        if lines
        else [],
        empty=_("No unbilled time."),
    )
