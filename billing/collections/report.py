"""The KPI report: the page's PDF, and the weekly partner report by email (SPEC §8, issue 13 items 4-5).

``kpi_report_build`` gathers, for a scope: every KPI with its value over the
last periods (the chart) and against the previous period, the aging summary on
the last day, the at-risk matters, and recommended actions (the clients owing
the most past 30 days, drafts awaiting a partner's review, open low-trust-balance
tasks). The same template, ``billing/kpi_report.html``, draws it for the PDF
(SVG charts inline) and for the email (PNG charts as inline attachments, named
by ``cid:``). ``partner_reports_send`` emails each active partner the report in
their language, with the PDF attached and absolute links to the firm's site, on
the firm's report day and hour (``CollectionsSettings``), once a week each
(``PartnerReportSent``, the log).
Text is translated at build time: a report is built once per language.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.mime.image import MIMEImage
from functools import cached_property

from django.contrib.auth.models import Group
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from billing.collections.aging import BUCKET_LABELS, BUCKETS, Aging, AgingRow, aging_report
from billing.collections.at_risk import AtRisk, at_risk_matters
from billing.collections.charts import ChartData, chart_data, chart_png, chart_svg, chart_svg_uri
from billing.collections.kpis import KpiScope, KpiTrend, display, kpis_all
from billing.collections.models import CollectionsSettings, PartnerReportSent
from billing.invoices.models import Invoice
from billing.ledger.accounts import default_currency
from billing.trust.models import BillingTask
from core.mail import firm_link, firm_sender
from core.models import User
from core.roles import Role
from tenants.db import tenant_connection

REPORT_DAYS = 28
CLIENTS_TO_CALL = 5


@dataclass
class KpiCard:
    trend: KpiTrend
    chart: ChartData
    link: str
    csv_link: str

    @cached_property
    def svg(self) -> str:
        return chart_svg(self.chart)

    @cached_property
    def svg_uri(self) -> str:
        return chart_svg_uri(self.chart)

    @cached_property
    def png(self) -> bytes:
        return chart_png(self.chart)

    @property
    def cid(self) -> str:
        return f"kpi-{self.trend.kpi.key}"

    @property
    def previous(self) -> str:
        return display(self.trend.previous, self.trend.kpi.unit)

    @property
    def history(self) -> list[tuple[str, str]]:
        return [
            (label, display(value, self.chart.unit))
            for label, value in zip(self.chart.labels, self.chart.values, strict=True)
        ]


@dataclass
class KpiReport:
    scope: KpiScope
    firm_name: str
    cards: list[KpiCard]
    aging: Aging
    at_risk: list[AtRisk]
    clients_to_call: list[AgingRow]
    drafts_awaiting: int
    low_trust: list[BillingTask]
    links: dict[str, str]

    @property
    def aging_totals(self) -> list[tuple[str, str]]:
        return [
            (str(BUCKET_LABELS[b]), cell.format(translation.get_language() or "en"))
            for b, cell in self.aging.totals.cells()
        ]


def scope_query(scope: KpiScope) -> str:
    from urllib.parse import urlencode

    query = {"start": scope.start.isoformat(), "end": scope.end.isoformat(), "currency": scope.currency}
    if scope.attorney is not None:
        query["attorney"] = str(scope.attorney.pk)
    if scope.matter_type:
        query["matter_type"] = scope.matter_type
    return urlencode(query)


def report_scope(*, today: date, currency: str | None = None) -> KpiScope:
    """The weekly report's period: the last four weeks up to ``today``."""
    return KpiScope(start=today - timedelta(days=REPORT_DAYS - 1), end=today, currency=currency or default_currency())


def _past_30(row: AgingRow) -> int:
    return sum(row.minor[b] for b in BUCKETS[2:])


def kpi_report_build(scope: KpiScope, *, absolute: bool = False) -> KpiReport:
    """Everything the KPI page's PDF and the partner report show, for ``scope`` (links absolute for email)."""

    def link(path: str) -> str:
        return firm_link(path) if absolute else path

    query = scope_query(scope)
    cards = []
    for trend in kpis_all(scope):
        key = trend.kpi.key
        cards.append(
            KpiCard(
                trend=trend,
                chart=chart_data(trend),
                link=link(f"{reverse('invoicing:collections_kpi')}?kpi={key}&{query}"),
                csv_link=link(f"{reverse('invoicing:collections_kpi_csv')}?kpi={key}&{query}"),
            )
        )
    aging = aging_report(as_of=scope.end, currency=scope.currency, by="client")
    to_call = sorted((r for r in aging.rows if _past_30(r) > 0 and not r.unclaimed), key=lambda r: -_past_30(r))
    return KpiReport(
        scope=scope,
        firm_name=getattr(tenant_connection().tenant, "name", ""),
        cards=cards,
        aging=aging,
        at_risk=at_risk_matters(today=scope.end, currency=scope.currency),
        clients_to_call=to_call[:CLIENTS_TO_CALL],
        drafts_awaiting=Invoice.objects.filter(status=Invoice.Status.DRAFT, needs_review=True).count(),
        low_trust=list(
            BillingTask.objects.filter(kind=BillingTask.Kind.LOW_TRUST_BALANCE, done_at__isnull=True)
            .select_related("client", "matter")
            .order_by("created")
        ),
        links={
            "kpis": link(f"{reverse('invoicing:collections_kpis')}?{query}"),
            "aging": link(reverse("invoicing:collections_aging")),
            "at_risk": link(reverse("invoicing:collections_at_risk")),
            "drafts": link(f"{reverse('invoicing:invoices')}?review=1"),
            "trust": link(reverse("ledger:trust")),
        },
    )


def kpi_report_html(report: KpiReport, *, email: bool = False, pdf: bool = False) -> str:
    """The report: charts inline as SVG (a browser), as SVG images (WeasyPrint), or as ``cid:`` PNGs (email)."""
    return render_to_string("billing/kpi_report.html", {"report": report, "email": email, "pdf": pdf})


def kpi_report_pdf(report: KpiReport) -> bytes:
    from weasyprint import HTML

    return bytes(HTML(string=kpi_report_html(report, pdf=True)).write_pdf())


def kpi_report_filename(report: KpiReport) -> str:
    return f"kpis-{report.scope.currency}-{report.scope.start.isoformat()}-{report.scope.end.isoformat()}.pdf"


def _text(report: KpiReport) -> str:
    lines = [_("KPIs from %(start)s to %(end)s") % {"start": report.scope.start, "end": report.scope.end}, ""]
    for card in report.cards:
        kpi = card.trend.kpi
        lines.append(f"{kpi.name}: {kpi.display} ({_('previous period')}: {card.previous})")
        lines.append(f"  {card.link}")
    lines += ["", _("Aging of receivables"), *(f"{label}: {amount}" for label, amount in report.aging_totals)]
    lines += ["", _("At-risk matters: %(n)d") % {"n": len(report.at_risk)}, report.links["at_risk"]]
    lines += ["", _("The full report is attached as a PDF."), report.links["kpis"]]
    return "\n".join(lines)


def partner_report_message(report: KpiReport, partner: User, *, pdf: bytes | None = None) -> EmailMultiAlternatives:
    """One partner's email: text, HTML with the charts as inline PNGs, and the PDF attached."""
    message = EmailMultiAlternatives(
        subject=_("Weekly report: %(firm)s, %(start)s to %(end)s")
        % {"firm": report.firm_name, "start": report.scope.start, "end": report.scope.end},
        body=_text(report),
        from_email=firm_sender(),
        to=[partner.email],
    )
    message.attach_alternative(kpi_report_html(report, email=True), "text/html")
    message.mixed_subtype = "related"  # type: ignore[attr-defined]  # (not in django-stubs) the PNGs go with the HTML
    for card in report.cards:
        image = MIMEImage(card.png, "png")
        image.add_header("Content-ID", f"<{card.cid}>")
        image.add_header("Content-Disposition", "inline", filename=f"{card.cid}.png")
        message.attach(image)
    message.attach(kpi_report_filename(report), pdf or kpi_report_pdf(report), "application/pdf")
    return message


def partners() -> list[User]:
    return list(Group.objects.get(name=Role.PARTNER.value).user_set.filter(is_active=True).order_by("pk"))


def week_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def partner_report_due(*, now: datetime) -> bool:
    """Whether the firm's report day has come this week and its hour has passed (firm's time)."""
    settings_row = CollectionsSettings.load()
    local = timezone.localtime(now)
    return local.weekday() == settings_row.report_weekday and local.hour >= settings_row.report_hour


def partner_reports_send(*, now: datetime | None = None) -> list[PartnerReportSent]:
    """On the firm's report day and hour, email each active partner not yet sent this week's report.

    The log row (unique per partner and week) is written in the transaction that
    sends, so two runs at once, or the hourly runs after the hour, send it once.
    """
    now = now or timezone.now()
    if not partner_report_due(now=now):
        return []
    today = timezone.localdate(now)
    scope = report_scope(today=today)
    built: dict[str, tuple[KpiReport, bytes]] = {}  # once per language, however many partners read it
    sent = []
    for partner in partners():
        language = partner.preferred_language or "en"
        with transaction.atomic():
            row, created = PartnerReportSent.objects.get_or_create(
                partner=partner,
                week_of=week_of(today),
                defaults={"language": language, "period_start": scope.start, "period_end": scope.end},
            )
            if not created:
                continue
            with translation.override(language):
                if language not in built:
                    report = kpi_report_build(scope, absolute=True)
                    built[language] = (report, kpi_report_pdf(report))
                report, pdf = built[language]
                partner_report_message(report, partner, pdf=pdf).send()
        sent.append(row)
    return sent
