"""Invoices drafted without anyone asking: when a matter completes a stage, and on recurring plans.

Both make drafts flagged ``needs_review``: a partner reviews and issues them
(the "To review" filter of the staff invoice list).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.utils import timezone

from billing.fees.models import FeeTemplate
from billing.invoices.models import Invoice, RecurringPlan
from billing.invoices.services import invoice_add_fee, invoice_add_time, invoice_create
from billing.locks import money_transaction
from core.models import Matter


@money_transaction
def invoice_draft_for_stage(*, matter: Matter, stage: str) -> Invoice | None:
    """A draft with every active flat fee and disbursement billed on ``stage``; None when nothing is.

    A stage completed twice (say, reopened and completed again) drafts once.
    """
    templates = FeeTemplate.objects.filter(active=True, bill_on_stage=stage).exclude(kind=FeeTemplate.Kind.HOURLY)
    first = templates.first()
    if first is None:
        return None
    already = Invoice.objects.filter(matter=matter, origin=Invoice.Origin.STAGE, origin_detail=stage)
    if already.exclude(status=Invoice.Status.VOID).exists():
        return None
    invoice = invoice_create(
        matter=matter,
        by=None,
        currency=first.currency,
        origin=Invoice.Origin.STAGE,
        origin_detail=stage,
    )
    for template in templates.filter(currency=invoice.currency):
        invoice_add_fee(invoice=invoice, template=template)
    return invoice


def on_matter_stage_completed(sender: Any, matter: Matter, stage: object, **kwargs: Any) -> None:
    """Receiver of ``core.signals.matter_stage_completed``; ``stage`` is a WorkflowStage (its code) or a code."""
    invoice_draft_for_stage(matter=matter, stage=str(getattr(stage, "code", stage)))


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, 28))


@money_transaction
def recurring_invoices_draft(*, as_of: date | None = None) -> list[Invoice]:
    """Draft an invoice for every active plan that is due (flat fee plus unbilled time), and move the plan on."""
    as_of = as_of or timezone.localdate()
    drafted = []
    for plan in RecurringPlan.objects.select_for_update(skip_locked=True).filter(active=True, next_on__lte=as_of):
        matter = plan.matter
        currency = plan.fee_template.currency if plan.fee_template else None
        invoice = invoice_create(
            matter=matter, by=None, currency=currency, origin=Invoice.Origin.RECURRING, origin_detail=f"plan {plan.pk}"
        )
        if plan.fee_template is not None:
            invoice_add_fee(invoice=invoice, template=plan.fee_template)
        invoice_add_time(invoice=invoice, through=as_of)
        invoice.refresh_from_db()
        if not invoice.lines.exists():
            invoice.delete()  # nothing to bill this period
        else:
            drafted.append(invoice)
        while plan.next_on <= as_of:
            plan.next_on = _add_months(plan.next_on, plan.every_months)
        plan.save(update_fields=["next_on"])
    return drafted
