"""The weekly partner report (issue 13 item 5): each partner, in their language, once a week, on the firm's day.

Sent in-process: the beat task's fan-out runs its per-firm task eagerly
(``task_always_eager``; the real worker's broker hop is covered for reminders by
tests/test_collections_worker.py) and mail lands in Django's locmem outbox.
"""

from __future__ import annotations

import io
from datetime import timedelta
from email.mime.base import MIMEBase
from typing import Any, cast

import pytest
from django.core import mail
from django.utils import timezone
from pypdf import PdfReader

from billing.collections.models import CollectionsSettings, PartnerReportSent
from billing.collections.report import partner_reports_send
from billing.collections.tasks import send_partner_reports, send_partner_reports_in_every_firm
from billing.invoices.models import Invoice
from billing.invoices.services import PAYMENT_DUE_DAYS, invoice_issue
from core.mail import firm_link
from core.models import User
from core.roles import Role
from core.services import user_create
from tests.support.billing import draft
from tests.support.cast import Cast
from tests.support.firms import Firm


def _report_due_now() -> None:
    CollectionsSettings.objects.update_or_create(
        id=1, defaults={"report_weekday": timezone.localtime().weekday(), "report_hour": 0}
    )


def _overdue(books: Cast) -> Invoice:
    issued_on = timezone.localdate() - timedelta(days=45 + PAYMENT_DUE_DAYS)
    return invoice_issue(invoice=draft(books.m1, books.alice, "PET-FLAT"), by=books.alice, issued_on=issued_on)


def _pdf_text(message: mail.EmailMultiAlternatives) -> str:
    pdfs = [part for part in message.attachments if not isinstance(part, MIMEBase)]
    assert [(name.endswith(".pdf"), kind) for name, _content, kind in pdfs] == [(True, "application/pdf")]
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdfs[0][1])).pages)


def test_spanish_partners_get_the_report_in_spanish_with_charts_inline_and_the_pdf(
    books: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.celery import app as celery_app

    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)
    # One report is built (and drawn) per language; the English one is the KPI page's PDF (test_collections_kpis).
    User.objects.filter(pk=books.paula.pk).update(preferred_language="es")
    marta = user_create(email="marta@acme.test", role=Role.PARTNER, full_name="Marta Ruiz", language="es")
    _overdue(books)
    _report_due_now()

    send_partner_reports_in_every_firm()

    by_partner = {message.to[0]: cast(mail.EmailMultiAlternatives, message) for message in mail.outbox}
    assert set(by_partner) == {"paula@acme.test", "marta@acme.test"}
    paula, spanish = by_partner["paula@acme.test"], by_partner["marta@acme.test"]
    assert spanish.subject.startswith("Informe semanal: ")
    assert paula.subject == spanish.subject

    content, kind = spanish.alternatives[0]
    assert kind == "text/html"
    html = str(content)
    assert "Días de cobro pendientes (DSO)" in html
    assert "Tasa de cobro a 30 días" in html
    assert 'src="cid:kpi-dso"' in html
    rows_link = firm_link("/staff/billing/collections/kpis/rows/")
    assert rows_link.startswith("http://acme.")
    assert f'href="{rows_link}?kpi=dso&amp;' in html  # absolute, on the firm's site
    assert "Llamar a Carol" in html  # a recommended action: $2,500 more than 30 days past due
    images = [part for part in spanish.attachments if isinstance(part, MIMEBase)]
    assert len(images) == 9
    assert images[0]["Content-ID"] == "<kpi-dso>"
    assert images[0].get_content_type() == "image/png"
    assert bytes(images[0].get_payload(decode=True)).startswith(b"\x89PNG\r\n\x1a\n")

    spanish_pdf = _pdf_text(spanish)
    assert "Días de cobro pendientes (DSO)" in spanish_pdf
    assert "Antigüedad de saldos" in spanish_pdf or "Antigüedad" in spanish_pdf
    assert paula.attachments[-1] == spanish.attachments[-1]  # the same PDF: built once for the language

    sent = {row.partner_id: row.language for row in PartnerReportSent.objects.all()}
    assert sent == {books.paula.pk: "es", marta.pk: "es"}
    assert partner_reports_send(now=timezone.now() + timedelta(hours=1)) == []  # the next hourly run: sent already
    assert len(mail.outbox) == 2


def test_the_report_waits_for_the_firms_day_and_hour_and_goes_once_a_week(books: Cast) -> None:
    now = timezone.now()
    CollectionsSettings.objects.update_or_create(
        id=1, defaults={"report_weekday": (timezone.localtime(now).weekday() + 1) % 7, "report_hour": 0}
    )
    assert partner_reports_send(now=now) == []  # not the firm's day
    CollectionsSettings.objects.filter(id=1).update(report_weekday=timezone.localtime(now).weekday(), report_hour=23)
    assert partner_reports_send(now=now.replace(hour=22)) == []  # the day, not yet the hour
    assert mail.outbox == []


def test_the_kpi_page_lists_the_reports_sent_and_previews_the_report(books: Cast) -> None:
    today = timezone.localdate()
    PartnerReportSent.objects.create(
        partner=books.paula, week_of=today, language="en", period_start=today - timedelta(days=27), period_end=today
    )
    bill = books.client_of(books.bill)

    page = bill.get("/staff/billing/collections/kpis/").content.decode()
    assert page.count('data-testid="report-sent"') == 1
    assert "Paula" in page

    preview = bill.get("/staff/billing/collections/kpis/partner-report/").content.decode()
    assert "Recommended actions" in preview
    assert preview.count('<svg role="img"') == 9


def test_the_firm_sets_the_reports_day_and_hour(books: Cast) -> None:
    response = books.client_of(books.alice).post(
        "/staff/billing/collections/reminders/",
        {"what": "settings", "quiet_days": "5", "at_risk_days": "30", "report_weekday": "4", "report_hour": "16"},
    )
    assert response.status_code == 302
    saved = CollectionsSettings.load()
    assert (saved.report_weekday, saved.report_hour) == (4, 16)  # Fridays at 16:00


def test_beat_asks_every_active_firm_for_its_report_every_hour(
    firm_a: Firm, firm_b: Firm, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    from tenants.db import current_schema

    sent_from: list[str] = []
    monkeypatch.setattr(send_partner_reports, "delay", lambda: sent_from.append(current_schema()))

    assert send_partner_reports_in_every_firm() >= 2
    assert {"acme", "globex"} <= set(sent_from)
    assert len(sent_from) == len(set(sent_from))
    entry = settings.CELERY_BEAT_SCHEDULE["send-partner-reports"]
    assert (entry["task"], entry["schedule"]) == (send_partner_reports_in_every_firm.name, 3600.0)
