"""Collections and intake KPIs (SPEC §8): each a value, its formula in words, and the rows behind it.

Every KPI is computed live over a ``KpiScope``: a period (first and last day,
both included), the firm's currency, and optionally a responsible attorney and a
matter type (filters on the matter the row belongs to). What each one reads:

* ``dso`` — days sales outstanding: receivables on the period's last day (the
  ledger's, per invoice, as the aging reads them) ÷ amounts invoiced in the
  period x days in the period.
* ``collection_30`` — of the invoices issued in the period, what was paid
  within 30 days of issue ÷ what they billed.
* ``write_off_rate`` — of the invoices issued in the period, what was written
  off ÷ what they billed.
* ``turnaround`` — days from an invoice's draft (a completed stage, a recurring
  plan's day, or staff starting one: ``Invoice.created``) to its issue date.
* ``retainer_capture`` — days from a retainer request to its money posted into
  trust (the card payment's journal entry).
* ``time_to_intake`` — days from the client's invitation (``User.invited_at``)
  to the intake questionnaire's completion (``Matter.intake_completed_at``).
* ``complete_intake`` — of the matters whose required documents were all
  accepted in the period, the share with no rejection on the way.
* ``review_time`` — hours from a document's upload to the review decision.
* ``portal_adoption`` — of the clients with a matter opened by the period's
  end, the share who signed in; the shares who uploaded and paid online too.

Rows are plain values (ids for drill-down links, dates as ISO strings, amounts
in minor units), the same for the page, the CSV and the API.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from babel.numbers import format_decimal
from django.db.models import Min, Q, QuerySet, Sum
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from billing.collections.aging import aged_invoices
from billing.invoices.models import Invoice, Payment
from billing.stripe.models import OnlinePayment, RetainerRequest
from core.models import Document, Matter, User

Cell = str | int | float | None

PERCENT, DAYS, HOURS = "percent", "days", "hours"
COLLECTION_WINDOW_DAYS = 30


@dataclass(frozen=True)
class KpiScope:
    """Which rows a KPI reads: the period (both days included), currency, attorney and matter type filters."""

    start: date
    end: date
    currency: str
    attorney: User | None = None
    matter_type: str = ""

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> KpiScope:
        """The period of the same length just before this one (same filters)."""
        return replace(self, start=self.start - timedelta(days=self.days), end=self.start - timedelta(days=1))

    def matters(self, prefix: str = "") -> Q:
        """The attorney and matter-type filters, on the matter reached through ``prefix`` (e.g. ``"matter__"``)."""
        found = Q()
        if self.attorney is not None:
            found &= Q(**{f"{prefix}responsible_attorney": self.attorney})
        if self.matter_type:
            found &= Q(**{f"{prefix}matter_type__code": self.matter_type})
        return found

    @property
    def after(self) -> datetime:
        """The first moment after the period (the start of the next day, in the firm's time zone)."""
        return datetime.combine(
            self.end + timedelta(days=1), datetime.min.time(), tzinfo=timezone.get_current_timezone()
        )

    def moments(self, name: str) -> dict[str, datetime]:
        """``{name}__gte``/``{name}__lt`` bounds for a timestamp column over the period's days."""
        first = datetime.combine(self.start, datetime.min.time(), tzinfo=timezone.get_current_timezone())
        return {f"{name}__gte": first, f"{name}__lt": self.after}


@dataclass
class KpiRow:
    """One row behind a KPI: its cells by column, and what it links to (an invoice, a matter, a client)."""

    cells: dict[str, Cell]
    invoice_id: int | None = None
    matter_id: int | None = None
    client_id: int | None = None


@dataclass
class Kpi:
    key: str
    name: str
    formula: str
    unit: str
    value: float | None
    numerator: float
    denominator: float
    columns: tuple[str, ...]
    rows: list[KpiRow]
    parts: list[tuple[str, float | None]] = field(default_factory=list)

    @property
    def display(self) -> str:
        return display(self.value, self.unit)


def display(value: float | None, unit: str) -> str:
    """A KPI value as people read it ("42.5%", "12.3 days"; "—" when there is nothing to measure)."""
    if value is None:
        return "—"
    number = format_decimal(value, format="#,##0.0", locale=(translation.get_language() or "en").replace("-", "_"))
    if unit == PERCENT:
        return f"{number}%"
    if unit == HOURS:
        return str(_("%(n)s hours") % {"n": number})
    return str(_("%(n)s days") % {"n": number})


def _share(part: float, whole: float) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def _days_between(start: datetime, end: datetime) -> float:
    return round((end - start).total_seconds() / 86400, 2)


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
                "issued_on": _iso(item.invoice.issued_on),
                "due_on": _iso(item.invoice.due_on),
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


def _iso(day: date | datetime | None) -> str:
    if day is None:
        return ""
    if isinstance(day, datetime):
        return timezone.localtime(day).isoformat(timespec="minutes")
    return day.isoformat()


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
                "issued_on": _iso(i.issued_on),
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
        value=_share(got, billed),
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
                "issued_on": _iso(i.issued_on),
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
        value=_share(written_off, billed),
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
                    "drafted": _iso(invoice.created),
                    "issued_on": _iso(invoice.issued_on),
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
        value=_mean(days),
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
        waited = _days_between(request.created, in_trust) if in_trust is not None else None
        if waited is not None:
            days.append(waited)
        rows.append(
            KpiRow(
                {
                    "client": request.client.get_full_name(),
                    "matter": request.matter.reference,
                    "amount_minor": request.amount_minor,
                    "requested": _iso(request.created),
                    "in_trust": _iso(in_trust),
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
        value=_mean(days),
        numerator=sum(days),
        denominator=len(days),
        columns=("client", "matter", "amount_minor", "requested", "in_trust", "days"),
        rows=rows,
    )


def _matter_row(matter: Matter, **cells: Cell) -> KpiRow:
    return KpiRow(
        {"matter": matter.reference, "client": matter.client.get_full_name(), **cells},
        matter_id=matter.pk,
        client_id=matter.client_id,
    )


def time_to_intake(scope: KpiScope) -> Kpi:
    matters = Matter.objects.filter(scope.matters(), **scope.moments("intake_completed_at")).select_related("client")
    rows, days = [], []
    for matter in matters.order_by("intake_completed_at", "id"):
        assert matter.intake_completed_at is not None
        invited = matter.client.invited_at
        waited = _days_between(invited, matter.intake_completed_at) if invited is not None else None
        if waited is not None and waited >= 0:
            days.append(waited)
        rows.append(
            _matter_row(matter, invited=_iso(invited), intake_completed=_iso(matter.intake_completed_at), days=waited)
        )
    return Kpi(
        key="time_to_intake",
        name=str(_("Time to intake")),
        formula=str(
            _(
                "Average, over the matters whose intake questionnaire was completed in the period, of the days from "
                "the client's invitation to the portal (the last one sent) to the completion. A client invited "
                "again after completing, or never invited, is listed and not averaged."
            )
        ),
        unit=DAYS,
        value=_mean(days),
        numerator=sum(days),
        denominator=len(days),
        columns=("matter", "client", "invited", "intake_completed", "days"),
        rows=rows,
    )


def complete_intake(scope: KpiScope) -> Kpi:
    matters = list(
        Matter.objects.filter(scope.matters(), **scope.moments("documents_completed_at"))
        .select_related("client")
        .order_by("documents_completed_at", "id")
    )
    first_time = sum(1 for m in matters if m.complete_on_first_submission)
    rows = [
        _matter_row(
            m,
            documents_completed=_iso(m.documents_completed_at),
            first_submission="yes" if m.complete_on_first_submission else "no",
        )
        for m in matters
    ]
    return Kpi(
        key="complete_intake",
        name=str(_("Complete-intake rate")),
        formula=str(
            _(
                "Of the matters whose required documents were all accepted in the period: the share where every "
                "required document was accepted on its first submission (no rejection on the way)."
            )
        ),
        unit=PERCENT,
        value=_share(first_time, len(matters)),
        numerator=first_time,
        denominator=len(matters),
        columns=("matter", "client", "documents_completed", "first_submission"),
        rows=rows,
    )


def review_time(scope: KpiScope) -> Kpi:
    documents = (
        Document.objects.filter(scope.matters("matter__"), **scope.moments("reviewed_at"))
        .select_related("matter", "reviewed_by")
        .order_by("reviewed_at", "id")
    )
    rows, hours = [], []
    for document in documents:
        assert document.reviewed_at is not None
        waited = round((document.reviewed_at - document.uploaded_at).total_seconds() / 3600, 2)
        hours.append(waited)
        rows.append(
            KpiRow(
                {
                    "matter": document.matter.reference,
                    "document": document.original_filename or document.document_type,
                    "uploaded": _iso(document.uploaded_at),
                    "reviewed": _iso(document.reviewed_at),
                    "decision": document.status,
                    "reviewer": document.reviewed_by.get_full_name() if document.reviewed_by else "",
                    "hours": waited,
                },
                matter_id=document.matter_id,
            )
        )
    return Kpi(
        key="review_time",
        name=str(_("Attorney review time")),
        formula=str(
            _(
                "Average, over the documents reviewed in the period, of the hours from the client's upload to the "
                "review decision (accepted or rejected), whoever on the firm's staff reviewed it."
            )
        ),
        unit=HOURS,
        value=_mean(hours),
        numerator=sum(hours),
        denominator=len(hours),
        columns=("matter", "document", "uploaded", "reviewed", "decision", "reviewer", "hours"),
        rows=rows,
    )


def portal_adoption(scope: KpiScope) -> Kpi:
    after = scope.after
    matters = Matter.objects.filter(scope.matters(), created__lt=after)
    clients = list(User.objects.filter(pk__in=matters.values("client_id")).order_by("full_name", "email"))
    uploaded = set(
        Document.objects.filter(uploaded_by__in=clients, uploaded_at__lt=after).values_list("uploaded_by_id", flat=True)
    )
    paid = set(
        OnlinePayment.objects.filter(client__in=clients, entry__isnull=False, entry__posted_at__lt=after).values_list(
            "client_id", flat=True
        )
    )
    signed_in = {c.pk for c in clients if c.last_login is not None}
    rows = [
        KpiRow(
            {
                "client": c.get_full_name(),
                "signed_in": "yes" if c.pk in signed_in else "no",
                "uploaded": "yes" if c.pk in uploaded else "no",
                "paid_online": "yes" if c.pk in paid else "no",
            },
            client_id=c.pk,
        )
        for c in clients
    ]
    whole = len(clients)
    return Kpi(
        key="portal_adoption",
        name=str(_("Portal adoption")),
        formula=str(
            _(
                "Of the clients with a matter opened by the last day of the period: the share who have signed in to "
                "the portal. Also shown: the share who uploaded a document, and who paid online (an invoice or a "
                "retainer), by that day. Portico keeps each person's last sign-in, not the first, so a client whose "
                "first sign-in came after the period counts as signed in."
            )
        ),
        unit=PERCENT,
        value=_share(len(signed_in), whole),
        numerator=len(signed_in),
        denominator=whole,
        columns=("client", "signed_in", "uploaded", "paid_online"),
        rows=rows,
        parts=[
            (str(_("Signed in")), _share(len(signed_in), whole)),
            (str(_("Uploaded a document")), _share(len(uploaded), whole)),
            (str(_("Paid online")), _share(len(paid), whole)),
        ],
    )


KPIS: dict[str, Callable[[KpiScope], Kpi]] = {
    "dso": dso,
    "collection_30": collection_30,
    "write_off_rate": write_off_rate,
    "turnaround": turnaround,
    "retainer_capture": retainer_capture,
    "time_to_intake": time_to_intake,
    "complete_intake": complete_intake,
    "review_time": review_time,
    "portal_adoption": portal_adoption,
}


@dataclass
class KpiTrend:
    """A KPI over the scope, with its value in each of the periods before (oldest first, this one last)."""

    kpi: Kpi
    periods: list[tuple[KpiScope, float | None]]

    @property
    def previous(self) -> float | None:
        return self.periods[-2][1] if len(self.periods) > 1 else None


def kpi_compute(key: str, scope: KpiScope) -> Kpi:
    if key not in KPIS:
        raise KeyError(key)
    return KPIS[key](scope)


def kpi_trend(key: str, scope: KpiScope, *, periods: int = 6) -> KpiTrend:
    """The KPI for ``scope`` and its value over the ``periods - 1`` periods of the same length before it."""
    kpi = kpi_compute(key, scope)
    earlier: list[tuple[KpiScope, float | None]] = []
    step = scope
    for _n in range(periods - 1):
        step = step.previous()
        earlier.append((step, KPIS[key](step).value))
    return KpiTrend(kpi=kpi, periods=[*reversed(earlier), (scope, kpi.value)])


def kpis_all(scope: KpiScope, *, periods: int = 6) -> list[KpiTrend]:
    return [kpi_trend(key, scope, periods=periods) for key in KPIS]


def kpi_csv_lines(kpi: Kpi, scope: KpiScope) -> list[list[str]]:
    """The rows behind ``kpi`` as CSV lines, with the value, period and currency on a closing line."""
    lines = [list(kpi.columns)]
    lines += [["" if row.cells.get(c) is None else str(row.cells.get(c)) for c in kpi.columns] for row in kpi.rows]
    value = "" if kpi.value is None else str(kpi.value)
    lines.append(["VALUE", value, kpi.unit, scope.start.isoformat(), scope.end.isoformat(), scope.currency])
    return lines
