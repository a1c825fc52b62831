"""The collections pages (issue 13 items 1-3): aging with drill-down, CSV and PDF; reminders; at-risk matters.

As a user sees them: billing staff read the figures and follow their links to
the invoices behind them; everyone else is refused (the URL walk in
``tests/test_url_access.py`` covers the attackers; here the firm's own staff
without the billing role).
"""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from html import unescape

from django.utils import timezone

from billing.collections.models import ReminderPause, ReminderSent, ReminderTier
from billing.collections.reminders import reminders_fire_due
from billing.invoices.models import Invoice
from billing.invoices.services import PAYMENT_DUE_DAYS, invoice_issue, payment_record
from billing.money import Money
from core.audit.models import AuditEntry
from core.checklist import checklist_for
from core.models import Matter, User
from tests.support.billing import draft
from tests.support.cast import Cast


def _overdue(matter: Matter, by: User, *, days: int) -> Invoice:
    """Issued on the day that makes it ``days`` past due today (terms are 30 days)."""
    issued_on = timezone.localdate() - timedelta(days=days + PAYMENT_DUE_DAYS)
    return invoice_issue(invoice=draft(matter, by, "PET-FLAT"), by=by, issued_on=issued_on)


def _links(html: str) -> list[tuple[str, str]]:
    return [(unescape(href), text) for href, text in re.findall(r'<a href="([^"]+)">([^<]+)</a>', html)]


def test_billing_staff_see_the_aging_and_each_figure_opens_the_invoices_behind_it(books: Cast) -> None:
    carol_late = _overdue(books.m1, books.alice, days=45)
    _overdue(books.m2, books.alice, days=100)
    payment_record(invoice=carol_late, method="check", amount=Money(500_00), by=books.bill)
    bill = books.client_of(books.bill)

    page = bill.get("/staff/billing/collections/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Carol" in html
    assert "$2,000.00" in html
    assert "$4,500.00" in html  # the total: the ledger's receivables
    carol_figure = next(href for href, text in _links(html) if text == "$2,000.00" and "bucket=31-60" in href)
    assert f"client={books.carol.pk}" in carol_figure

    behind = bill.get(carol_figure).content.decode()
    assert carol_late.display_number in behind
    assert "INV-" in behind
    assert behind.count('data-testid="aged-') == 1

    everything = next(href for href, text in _links(html) if text == "$4,500.00")
    assert bill.get(everything).content.decode().count('data-testid="aged-') == 2


def test_the_aging_csv_has_a_line_per_row_and_the_totals(books: Cast) -> None:
    _overdue(books.m1, books.alice, days=45)
    _overdue(books.lucia_matter, books.alice, days=-3)
    response = books.client_of(books.bill).get("/staff/billing/collections/aging.csv?by=attorney")

    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == [
        "attorney",
        "invoices",
        "current_minor",
        "1-30_minor",
        "31-60_minor",
        "61-90_minor",
        "90+_minor",
        "total_minor",
        "currency",
        "as_of",
    ]
    today = timezone.localdate().isoformat()
    assert ["Arthur", "1", "0", "0", "250000", "0", "0", "250000", "USD", today] in rows
    assert ["Ana Lee", "1", "250000", "0", "0", "0", "0", "250000", "USD", today] in rows
    assert rows[-1] == ["TOTAL", "2", "250000", "0", "250000", "0", "0", "500000", "USD", today]


def test_the_invoices_csv_and_the_aging_pdf(books: Cast) -> None:
    invoice = _overdue(books.m1, books.alice, days=10)
    bill = books.client_of(books.bill)

    rows = list(
        csv.reader(io.StringIO(bill.get("/staff/billing/collections/invoices.csv?bucket=1-30").content.decode()))
    )
    assert rows[1] == [
        invoice.display_number,
        "Carol",
        "2025-0001",
        "Arthur",
        str(invoice.due_on),
        "10",
        "1-30",
        "250000",
        "USD",
    ]

    pdf = bill.get("/staff/billing/collections/aging.pdf")
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content[:5] == b"%PDF-"


def test_an_aging_on_a_past_day_shows_that_days_balances(books: Cast) -> None:
    invoice = _overdue(books.m1, books.alice, days=20)
    payment_record(invoice=invoice, method="check", amount=invoice.total, by=books.bill)
    bill = books.client_of(books.bill)

    assert "Nothing is owed on this day." in bill.get("/staff/billing/collections/").content.decode()
    yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()
    assert "$2,500.00" in bill.get(f"/staff/billing/collections/?as_of={yesterday}").content.decode()


def test_staff_without_the_billing_role_are_refused(books: Cast) -> None:
    for person in (books.arthur, books.pete, books.ivy, books.carol):
        client = books.client_of(person)
        for path in (
            "/staff/billing/collections/",
            "/staff/billing/collections/aging.csv",
            "/staff/billing/collections/at-risk/",
        ):
            assert client.get(path).status_code == 403, (person, path)


def test_the_invoice_page_lists_its_reminders_and_staff_pause_the_client(books: Cast) -> None:
    invoice = _overdue(books.m1, books.alice, days=8)
    reminders_fire_due()
    bill = books.client_of(books.bill)

    page = bill.get(f"/staff/billing/invoices/{invoice.pk}/reminders/").content.decode()
    assert "Friendly reminder" in page
    assert "Queued" in page

    pause = f"/staff/billing/collections/clients/{books.carol.pk}/pause/"
    assert (
        books.client_of(books.ivy).post(pause, {"reason": "x"}).status_code == 404
    )  # not billing staff: no such client
    response = bill.post(pause, {"action": "pause", "reason": "pays on the 15th", "invoice": invoice.pk})
    assert response.status_code == 302
    assert ReminderPause.objects.get(client=books.carol).reason == "pays on the 15th"
    assert AuditEntry.objects.filter(action="collections.reminders_paused", actor_id=books.bill.pk).exists()
    assert "pays on the 15th" in bill.get(f"/staff/billing/invoices/{invoice.pk}/reminders/").content.decode()

    bill.post(pause, {"action": "resume", "invoice": invoice.pk})
    assert not ReminderPause.objects.filter(client=books.carol).exists()


def test_the_firm_admin_edits_a_tier_and_billing_clerks_may_not(books: Cast) -> None:
    tier = ReminderTier.objects.get(name="Friendly reminder")
    fields = {
        "what": "tier",
        "tier": tier.pk,
        f"tier-{tier.pk}-name": "Gentle nudge",
        f"tier-{tier.pk}-offset_days": "3",
        f"tier-{tier.pk}-email_client": "on",
        f"tier-{tier.pk}-subject_en": "Invoice {invoice}",
        f"tier-{tier.pk}-body_en": "Dear {client}",
        f"tier-{tier.pk}-active": "on",
    }
    assert books.client_of(books.bill).post("/staff/billing/collections/reminders/", fields).status_code == 403
    assert books.client_of(books.alice).post("/staff/billing/collections/reminders/", fields).status_code == 302
    tier.refresh_from_db()
    assert (tier.name, tier.offset_days) == ("Gentle nudge", 3)

    settings = {"what": "settings", "quiet_days": "2", "at_risk_days": "10"}
    books.client_of(books.alice).post("/staff/billing/collections/reminders/", settings)
    assert AuditEntry.objects.filter(action="collections.settings_changed").exists()
    assert "Gentle nudge" in books.client_of(books.bill).get("/staff/billing/collections/reminders/").content.decode()
    assert ReminderSent.objects.count() == 0


def test_at_risk_matters_show_the_overdue_balance_next_to_the_checklist_date(books: Cast) -> None:
    _overdue(books.lucia_matter, books.alice, days=12)
    _overdue(books.m2, books.alice, days=-5)  # not overdue: not at risk
    next_item = min(
        (line for line in checklist_for(books.lucia_matter) if line.status != "accepted"),
        key=lambda line: line.due_date,
    )
    page = books.client_of(books.paula).get("/staff/billing/collections/at-risk/").content.decode()

    row = re.search(rf'data-testid="at-risk-{books.lucia_matter.pk}".*?</tr>', page, re.S)
    assert row is not None
    assert "$2,500.00" in row.group(0)
    assert next_item.due_date.isoformat() in row.group(0)
    assert f'data-testid="at-risk-{books.m2.pk}"' not in page
