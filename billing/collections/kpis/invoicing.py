"""The invoice and retainer KPIs: DSO, collection within 30 days, write-off rate, turnaround, retainer capture."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Min, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from billing.collections.aging import aged_invoices
from billing.collections.kpis.base import DAYS, PERCENT, Cell, Kpi, KpiRow, KpiScope, days_between, iso, mean, share
from billing.invoices.models import Invoice, Payment
from billing.stripe.models import RetainerRequest

COLLECTION_WINDOW_DAYS = 30


def _names(invoice: Invoice) -> dict[str, Cell]:
    return {
        "invoice": invoice.display_number,
        "client": invoice.client.get_full_name(),
        "matter": invoice.matter.reference,
    }


def _issued_in(scope: KpiScope) -> QuerySet[Invoice]:
    """The cohort: invoices issued in the period in the currency (void ones never were owed), filtered."""
    return (
        Invoice.objects.filter(
            scope.matters("matter__"),
            issued_on__gte=scope.start,
            issued_on__lte=scope.end,
            currency=scope.currency,
        )
        .exclude(status__in=[Invoice.Status.DRAFT, Invoice.Status.VOID])
        .select_related("client", "matter__matter_type")
        .order_by("issued_on", "number")
    )


def dso(scope: KpiScope) -> Kpi:
    open_on_end = [
        item
        for item in aged_invoices(as_of=scope.end, currency=scope.currency, attorney=scope.attorney)
        if not scope.matter_type or _type_code(item.invoice) == scope.matter_type
    ]
    receivable = sum(item.balance.minor for item in open_on_end)
    billed = _issued_in(scope).aggregate(total=Sum("total_minor"))["total"] or 0
    rows = [
        KpiRow(
            {
                **_names(item.invoice),
                "issued_on": iso(item.invoice.issued_on),
                "due_on": iso(item.invoice.due_on),
                "days_past_due": item.days_past_due,
                "balance_minor": item.balance.minor,
            },
            invoice_id=item.invoice.pk,
        )
        for item in open_on_end
    ]
    value = round(receivable / billed * scope.days, 1) if billed else None
    return Kpi(
        key="dso",
        name=str(_("Days sales outstanding (DSO)")),
        formula=str(
            _(
                "Receivables on the last day of the period (every invoice's balance in the ledger) ÷ the amount "
                "invoiced in the period (invoices issued in it, void ones excepted) x the number of days in the "
                "period. The rows are the invoices with a balance on the last day."
            )
        ),
        unit=DAYS,
        value=value,
        numerator=receivable,
        denominator=billed,
        columns=("invoice", "client", "matter", "issued_on", "due_on", "days_past_due", "balance_minor"),
        rows=rows,
    )


def _type_code(invoice: Invoice) -> str:
    matter_type = invoice.matter.matter_type
    return matter_type.code if matter_type is not None else ""


def _cohort(scope: KpiScope) -> list[Invoice]:
    return list(_issued_in(scope))


def collection_30(scope: KpiScope) -> Kpi:
    cohort = _cohort(scope)
    collected: dict[int, int] = {}
    for payment in Payment.objects.filter(invoice__in=[i.pk for i in cohort]).select_related("invoice"):
        issued_on = payment.invoice.issued_on
        if issued_on is not None and payment.received_on <= issued_on + timedelta(days=COLLECTION_WINDOW_DAYS):
            collected[payment.invoice_id] = collected.get(payment.invoice_id, 0) + payment.amount_minor
    billed = sum(i.total_minor for i in cohort)
    got = sum(collected.values())
    rows = [
        KpiRow(
            {
                **_names(i),
                "issued_on": iso(i.issued_on),
                "billed_minor": i.total_minor,
                "collected_30_minor": collected.get(i.pk, 0),
            },
            invoice_id=i.pk,
        )
        for i in cohort
    ]
    return Kpi(
        key="collection_30",
        name=str(_("Collection rate within 30 days")),
        formula=str(
            _(
                "Of the invoices issued in the period (void ones excepted): the payments received on or before the "
                "30th day after each invoice's issue date (by hand, online, from trust or from client credit) ÷ the "
                "amount those invoices billed. An invoice issued less than 30 days ago has had less time."
            )
        ),
        unit=PERCENT,
        value=share(got, billed),
        numerator=got,
        denominator=billed,
        columns=("invoice", "client", "matter", "issued_on", "billed_minor", "collected_30_minor"),
        rows=rows,
    )


def write_off_rate(scope: KpiScope) -> Kpi:
    cohort = _cohort(scope)
    billed = sum(i.total_minor for i in cohort)
    written_off = sum(i.written_off_minor for i in cohort)
    rows = [
        KpiRow(
            {
                **_names(i),
                "issued_on": iso(i.issued_on),
                "billed_minor": i.total_minor,
                "written_off_minor": i.written_off_minor,
            },
            invoice_id=i.pk,
        )
        for i in cohort
    ]
    return Kpi(
        key="write_off_rate",
        name=str(_("Write-off rate")),
        formula=str(
            _(
                "Of the invoices issued in the period (void ones excepted): the amount written off on them "
                "(approved write-offs, whenever approved) ÷ the amount they billed."
            )
        ),
        unit=PERCENT,
        value=share(written_off, billed),
        numerator=written_off,
        denominator=billed,
        columns=("invoice", "client", "matter", "issued_on", "billed_minor", "written_off_minor"),
        rows=rows,
    )


def turnaround(scope: KpiScope) -> Kpi:
    issued = list(
        Invoice.objects.filter(
            scope.matters("matter__"), issued_on__gte=scope.start, issued_on__lte=scope.end, currency=scope.currency
        )
        .exclude(status=Invoice.Status.DRAFT)
        .select_related("client", "matter")
        .order_by("issued_on", "number")
    )
    rows, days = [], []
    for invoice in issued:
        assert invoice.issued_on is not None
        waited = (invoice.issued_on - timezone.localdate(invoice.created)).days
        days.append(float(waited))
        rows.append(
            KpiRow(
                {
                    **_names(invoice),
                    "origin": invoice.origin,
                    "drafted": iso(invoice.created),
                    "issued_on": iso(invoice.issued_on),
                    "days": waited,
                },
                invoice_id=invoice.pk,
            )
        )
    return Kpi(
        key="turnaround",
        name=str(_("Invoice turnaround")),
        formula=str(
            _(
                "Average, over the invoices issued in the period, of the days from the invoice's trigger to its issue "
                "date. The trigger is the day the draft was made: a completed matter stage or a recurring plan's day "
                "(drafted automatically), or the day staff started it by hand."
            )
        ),
        unit=DAYS,
        value=mean(days),
        numerator=sum(days),
        denominator=len(days),
        columns=("invoice", "client", "matter", "origin", "drafted", "issued_on", "days"),
        rows=rows,
    )


def retainer_capture(scope: KpiScope) -> Kpi:
    requests = list(
        RetainerRequest.objects.filter(scope.matters("matter__"), currency=scope.currency, **scope.moments("created"))
        .select_related("client", "matter")
        .annotate(in_trust_at=Min("online_payments__entry__posted_at", filter=Q(online_payments__entry__isnull=False)))
        .order_by("created", "id")
    )
    rows, days = [], []
    for request in requests:
        in_trust: datetime | None = request.in_trust_at  # the annotation
        waited = days_between(request.created, in_trust) if in_trust is not None else None
        if waited is not None:
            days.append(waited)
        rows.append(
            KpiRow(
                {
                    "client": request.client.get_full_name(),
                    "matter": request.matter.reference,
                    "amount_minor": request.amount_minor,
                    "requested": iso(request.created),
                    "in_trust": iso(in_trust),
                    "days": waited,
                },
                matter_id=request.matter_id,
            )
        )
    return Kpi(
        key="retainer_capture",
        name=str(_("Retainer capture time")),
        formula=str(
            _(
                "Average, over the retainer requests made in the period and paid, of the days from the request to "
                "the money posted into trust (the card payment's entry in the trust ledger). Requests not yet paid "
                "are listed and not averaged; a retainer paid by check or wire is a trust deposit that names no "
                "request, so it is not measured here."
            )
        ),
        unit=DAYS,
        value=mean(days),
        numerator=sum(days),
        denominator=len(days),
        columns=("client", "matter", "amount_minor", "requested", "in_trust", "days"),
        rows=rows,
    )
