"""Aging and reminder history through the API (issue 13 item 6, first part): the pages' figures, same access rules."""

from __future__ import annotations

from datetime import timedelta

from django.test import Client
from django.utils import timezone

from billing.collections.reminders import reminders_fire_due
from billing.invoices.models import Invoice
from billing.invoices.services import PAYMENT_DUE_DAYS, invoice_issue
from billing.ledger.models import Account
from billing.ledger.selectors import kind_total
from core.api_tokens import token_issue
from core.models import Matter, User
from tests.support.billing import draft
from tests.support.cast import Cast


def _overdue(matter: Matter, by: User, *, days: int) -> Invoice:
    issued_on = timezone.localdate() - timedelta(days=days + PAYMENT_DUE_DAYS)
    return invoice_issue(invoice=draft(matter, by, "PET-FLAT"), by=by, issued_on=issued_on)


def test_the_aging_by_matter_equals_the_ledger_and_names_each_matter(books: Cast) -> None:
    _overdue(books.m1, books.alice, days=95)
    _overdue(books.lucia_matter, books.alice, days=15)
    response = books.client_of(books.bill).get("/api/v1/billing/collections/aging?by=matter")

    assert response.status_code == 200
    body = response.json()
    assert body["by"] == "matter"
    rows = {row["key"]: row for row in body["rows"]}
    assert rows[books.m1.pk]["over_90_minor"] == 250000
    assert rows[books.lucia_matter.pk]["days_1_30_minor"] == 250000
    assert body["totals"]["total_minor"] == kind_total(Account.Kind.RECEIVABLE, currency="USD").minor == 500000


def test_a_bad_day_or_grouping_is_a_400_naming_the_field(books: Cast) -> None:
    bill = books.client_of(books.bill)
    for query, field in (("as_of=yesterday", "as_of"), ("by=planet", "by"), ("currency=XXQ", "currency")):
        response = bill.get(f"/api/v1/billing/collections/aging?{query}")
        assert response.status_code == 400
        assert field in response.json()["error"]["fields"]


def test_an_invoices_reminders_for_billing_staff_and_nobody_else(books: Cast) -> None:
    invoice = _overdue(books.m1, books.alice, days=8)
    reminders_fire_due()
    path = f"/api/v1/billing/invoices/{invoice.pk}/reminders"

    [reminder] = books.client_of(books.bill).get(path).json()["results"]
    assert (reminder["tier"], reminder["status"], reminder["language"]) == ("Friendly reminder", "queued", "en")
    assert books.client_of(books.carol).get(path).status_code == 403  # her invoice, but not her page
    assert books.client_of(books.dan).get(path).status_code == 404
    assert books.client_of(books.arthur).get("/api/v1/billing/collections/aging").status_code == 403


def test_a_token_reads_the_aging_with_billing_read(books: Cast) -> None:
    with books.firm.tenant:
        issued = token_issue(user=books.bill, label="Books", scopes=["billing:read"], days=5, by=books.alice)
        other = token_issue(user=books.bill, label="Cases", scopes=["matters:read"], days=5, by=books.alice)
    bearer = Client(HTTP_HOST=books.firm.host, HTTP_AUTHORIZATION=f"Bearer {issued.text}")
    assert bearer.get("/api/v1/billing/collections/aging").status_code == 200
    wrong = Client(HTTP_HOST=books.firm.host, HTTP_AUTHORIZATION=f"Bearer {other.text}")
    assert wrong.get("/api/v1/billing/collections/aging").status_code == 403
