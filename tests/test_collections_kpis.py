"""The KPIs (issue 13 item 4), each against a history whose answer is worked out by hand below.

January 2026 (31 days), in USD, on the shared cast's matters:

* invoice A: M1 (Carol; Arthur; I-130), $2,500.00, drafted 2 Jan, issued 5 Jan;
  $1,000.00 paid 20 Jan (within 30 days), $500.00 paid 20 Feb (day 46: outside).
* invoice B: M2 (Dan; no attorney; N-400), $150.00, drafted and issued 10 Jan;
  $50.00 written off (approved today, so after the period's end).
* invoice C: M1, $150.00, issued 20 Dec 2025 (before the period), unpaid.

DSO = receivables on 31 Jan ($1,500 + $150 + $150 = $1,800) ÷ billed in January
($2,650) x 31 = 21.06 days. Collection within 30 days = $1,000 ÷ $2,650 = 37.7%.
Write-off rate = $50 ÷ $2,650 = 1.9%. Turnaround = (3 + 0) ÷ 2 = 1.5 days.
Intake: Lucía and Dora invited 3 Jan 09:00, intakes complete 5 Jan and 8 Jan
09:00: (2 + 5) ÷ 2 = 3.5 days (Dan's, never invited, is listed, not averaged).
Documents all accepted: M1 (first time), M2 (after a rejection), Lucía's (first
time): 2 of 3 = 66.7%. Reviews: 6 h and 30 h: 18.0 hours.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

from django.utils import timezone

from billing.collections.kpis import KpiScope, kpi_compute, kpi_trend
from billing.invoices.models import Invoice
from billing.invoices.services import invoice_issue, payment_record
from billing.invoices.write_offs import write_off_decide, write_off_request
from billing.money import Money
from billing.stripe.models import OnlinePayment, RetainerRequest
from billing.trust.services import trust_deposit
from core.models import Document, Matter, User
from tests.support.billing import draft
from tests.support.cast import Cast
from tests.support.online_payments import accounts_enabled

JANUARY = KpiScope(start=date(2026, 1, 1), end=date(2026, 1, 31), currency="USD")


def _at(day: int, hour: int = 9, month: int = 1) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def _invoice(books: Cast, matter: Matter, code: str, *, drafted: datetime, issued_on: date) -> Invoice:
    invoice = draft(matter, books.alice, code)
    Invoice.objects.filter(pk=invoice.pk).update(created=drafted)
    return invoice_issue(invoice=invoice, by=books.alice, issued_on=issued_on)


def january_books(books: Cast) -> dict[str, Invoice]:
    a = _invoice(books, books.m1, "PET-FLAT", drafted=_at(2, 10), issued_on=date(2026, 1, 5))
    payment_record(invoice=a, method="check", amount=Money(1_000_00), by=books.bill, received_on=date(2026, 1, 20))
    payment_record(invoice=a, method="check", amount=Money(500_00), by=books.bill, received_on=date(2026, 2, 20))
    b = _invoice(books, books.m2, "CONS-FLAT", drafted=_at(10, 8), issued_on=date(2026, 1, 10))
    asked = write_off_request(invoice=b, amount=Money(50_00), reason="goodwill", by=books.bill)
    write_off_decide(write_off=asked, approve=True, by=books.paula)
    c = _invoice(books, books.m1, "CONS-FLAT", drafted=datetime(2025, 12, 20, tzinfo=UTC), issued_on=date(2025, 12, 20))
    return {"a": a, "b": b, "c": c}


def january_intake(books: Cast) -> None:
    User.objects.filter(pk__in=[books.lucia.pk, books.dora.pk]).update(invited_at=_at(3))
    User.objects.filter(pk=books.dan.pk).update(invited_at=None)
    Matter.objects.filter(pk=books.lucia_matter.pk).update(intake_completed_at=_at(5))
    Matter.objects.filter(pk=books.dora_matter.pk).update(intake_completed_at=_at(8))
    Matter.objects.filter(pk=books.m2.pk).update(intake_completed_at=_at(9))
    for matter, day, first in ((books.m1, 10, True), (books.m2, 12, False), (books.lucia_matter, 15, True)):
        Matter.objects.filter(pk=matter.pk).update(documents_completed_at=_at(day), complete_on_first_submission=first)
    for n, (uploaded, reviewed) in enumerate(((_at(10, 3), _at(10, 9)), (_at(11, 1), _at(12, 7)))):
        document = Document.objects.create(
            matter=books.m1,
            storage_name=f"kpi-test-{n}",
            original_filename=f"passport-{n}.pdf",
            content_type="application/pdf",
            uploaded_by=books.carol,
            status=Document.Status.ACCEPTED,
            reviewed_by=books.pete,
            reviewed_at=reviewed,
        )
        Document.objects.filter(pk=document.pk).update(uploaded_at=uploaded)


def test_dso_is_the_ledgers_receivables_over_what_was_billed_times_the_days(books: Cast) -> None:
    invoices = january_books(books)
    kpi = kpi_compute("dso", JANUARY)

    assert (kpi.numerator, kpi.denominator) == (1_800_00, 2_650_00)
    assert kpi.value == 21.1  # 1,800 / 2,650 x 31 = 21.06
    assert {row.invoice_id: row.cells["balance_minor"] for row in kpi.rows} == {
        invoices["a"].pk: 1_500_00,
        invoices["b"].pk: 150_00,
        invoices["c"].pk: 150_00,
    }


def test_dso_follows_the_attorney_and_matter_type_filters(books: Cast) -> None:
    january_books(books)
    arthur = kpi_compute("dso", KpiScope(**{**JANUARY.__dict__, "attorney": books.arthur}))
    naturalisation = kpi_compute("dso", KpiScope(**{**JANUARY.__dict__, "matter_type": "N-400"}))

    assert (arthur.numerator, arthur.denominator, arthur.value) == (1_650_00, 2_500_00, 20.5)
    assert (naturalisation.numerator, naturalisation.denominator, naturalisation.value) == (150_00, 150_00, 31.0)


def test_collection_rate_counts_only_what_came_in_within_30_days_of_issue(books: Cast) -> None:
    invoices = january_books(books)
    kpi = kpi_compute("collection_30", JANUARY)

    assert (kpi.numerator, kpi.denominator, kpi.value) == (1_000_00, 2_650_00, 37.7)
    assert [row.invoice_id for row in kpi.rows] == [invoices["a"].pk, invoices["b"].pk]  # C is not in the cohort


def test_write_off_rate_and_turnaround(books: Cast) -> None:
    january_books(books)
    write_offs = kpi_compute("write_off_rate", JANUARY)
    turnaround = kpi_compute("turnaround", JANUARY)

    assert (write_offs.numerator, write_offs.denominator, write_offs.value) == (50_00, 2_650_00, 1.9)
    assert [row.cells["days"] for row in turnaround.rows] == [3, 0]
    assert turnaround.value == 1.5


def test_intake_kpis_and_review_time(books: Cast) -> None:
    january_intake(books)
    to_intake = kpi_compute("time_to_intake", JANUARY)
    complete = kpi_compute("complete_intake", JANUARY)
    review = kpi_compute("review_time", JANUARY)

    assert to_intake.value == 3.5
    assert [row.cells["days"] for row in to_intake.rows] == [2.0, 5.0, None]  # Dan was never invited
    assert (complete.numerator, complete.denominator, complete.value) == (2, 3, 66.7)
    assert [row.cells["hours"] for row in review.rows] == [6.0, 30.0]
    assert review.value == 18.0


def test_retainer_capture_and_portal_adoption(books: Cast) -> None:
    """The card payment's trust posting is made by ``trust_deposit``, as the webhook makes it (no Stripe needed)."""
    accounts = accounts_enabled(books.alice)
    amount = Money(1_000_00)
    paid = RetainerRequest.objects.create(
        client=books.lucia,
        matter=books.lucia_matter,
        amount_minor=amount.minor,
        currency="USD",
        requested_by=books.bill,
    )
    RetainerRequest.objects.create(
        client=books.dora, matter=books.dora_matter, amount_minor=amount.minor, currency="USD", requested_by=books.bill
    )
    deposit = trust_deposit(
        client=books.lucia, matter=books.lucia_matter, amount=amount, method="card", by=books.lucia, reference="pi_1"
    )
    OnlinePayment.objects.create(
        purpose="retainer",
        account=accounts["trust"],
        account_kind="trust",
        retainer=paid,
        client=books.lucia,
        matter=books.lucia_matter,
        amount_minor=amount.minor,
        currency="USD",
        idempotency_key="kpi-test-retainer",
        status=OnlinePayment.Status.SUCCEEDED,
        entry=deposit.entry,
    )
    assert deposit.entry is not None
    RetainerRequest.objects.filter(pk=paid.pk).update(created=deposit.entry.posted_at - timedelta(days=3, hours=12))
    now = timezone.now()
    User.objects.filter(pk__in=[books.carol.pk, books.lucia.pk]).update(last_login=now)
    User.objects.filter(pk__in=[books.dan.pk, books.dora.pk]).update(last_login=None)
    Document.objects.create(
        matter=books.m1, storage_name="kpi-adoption", content_type="image/png", uploaded_by=books.carol
    )
    today = timezone.localdate()
    recent = KpiScope(start=today - timedelta(days=9), end=today, currency="USD")

    capture = kpi_compute("retainer_capture", recent)
    adoption = kpi_compute("portal_adoption", recent)

    assert capture.value == 3.5
    assert [row.cells["days"] for row in capture.rows if row.cells["client"] == "Dora Díaz"] == [None]
    assert (adoption.numerator, adoption.denominator, adoption.value) == (2, 4, 50.0)  # Carol, Dan, Lucía, Dora
    assert [value for _label, value in adoption.parts] == [50.0, 25.0, 25.0]


def test_the_trend_reads_the_same_kpi_over_the_periods_before(books: Cast) -> None:
    january_books(books)
    trend = kpi_trend("collection_30", JANUARY, periods=3)

    assert [scope.start for scope, _value in trend.periods] == [date(2025, 10, 31), date(2025, 12, 1), date(2026, 1, 1)]
    # 31-day periods: nothing billed from 31 Oct to 30 Nov; December holds invoice C (nothing collected on it).
    assert [value for _scope, value in trend.periods] == [None, 0.0, 37.7]
    assert trend.previous == 0.0


def test_the_kpi_page_shows_each_formula_a_chart_and_the_rows_behind(books: Cast) -> None:
    invoices = january_books(books)
    bill = books.client_of(books.bill)

    html = bill.get("/staff/billing/collections/kpis/?start=2026-01-01&end=2026-01-31").content.decode()
    assert "Days sales outstanding (DSO)" in html
    assert "21.1 days" in html
    assert "Receivables on the last day of the period" in html  # the formula, written out
    assert html.count('<svg role="img" aria-label="') == 9
    assert '<svg role="img" aria-label="Collection rate within 30 days.' in html
    assert "37.7%" in html

    rows = bill.get("/staff/billing/collections/kpis/rows/?kpi=dso&start=2026-01-01&end=2026-01-31").content.decode()
    assert rows.count('data-testid="kpi-row"') == 3
    assert f'href="/staff/billing/invoices/{invoices["a"].pk}/"' in rows

    download = bill.get("/staff/billing/collections/kpis/rows.csv?kpi=collection_30&start=2026-01-01&end=2026-01-31")
    lines = list(csv.reader(io.StringIO(download.content.decode())))
    assert lines[0] == ["invoice", "client", "matter", "issued_on", "billed_minor", "collected_30_minor"]
    assert lines[1][4:] == ["250000", "100000"]
    assert lines[-1][:3] == ["VALUE", "37.7", "percent"]


def test_the_kpi_pdf_has_the_charts_as_text(books: Cast) -> None:
    from pypdf import PdfReader

    january_books(books)
    response = books.client_of(books.paula).get("/staff/billing/collections/kpis.pdf?start=2026-01-01&end=2026-01-31")

    assert response["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "Days sales outstanding (DSO)" in text
    assert "21.1 days" in text
    assert "01 Jan - 31 Jan" in text  # a bar's label: the chart's SVG text, drawn as text in the PDF


def test_staff_without_the_billing_role_are_refused(books: Cast) -> None:
    for person in (books.pete, books.arthur):
        for url in ("/staff/billing/collections/kpis/", "/staff/billing/collections/kpis/rows/?kpi=dso"):
            assert books.client_of(person).get(url).status_code == 403
    assert books.client_of(books.bill).get("/staff/billing/collections/kpis/rows/?kpi=nope").status_code == 404


def test_the_api_gives_each_kpi_and_the_rows_behind_it(books: Cast) -> None:
    invoices = january_books(books)
    bill = books.client_of(books.bill)

    body = bill.get("/api/v1/billing/collections/kpis?start=2026-01-01&end=2026-01-31").json()
    values = {kpi["key"]: kpi["value"] for kpi in body["kpis"]}
    assert (values["dso"], values["collection_30"], values["write_off_rate"], values["turnaround"]) == (
        21.1,
        37.7,
        1.9,
        1.5,
    )
    assert body["kpis"][0]["formula"].startswith("Receivables on the last day of the period")

    query = f"kpi=dso&start=2026-01-01&end=2026-01-31&attorney={books.arthur.pk}"
    [rows] = bill.get(f"/api/v1/billing/collections/kpis/rows?{query}").json()["kpis"]
    assert (rows["value"], rows["numerator"], rows["denominator"]) == (20.5, 1_650_00, 2_500_00)
    assert {row["invoice_id"]: row["cells"]["balance_minor"] for row in rows["rows"]} == {
        invoices["a"].pk: 1_500_00,
        invoices["c"].pk: 150_00,
    }

    for bad, field in (("kpi=nope", "kpi"), ("kpi=dso&start=2026-02-01&end=2026-01-01", "start")):
        response = bill.get(f"/api/v1/billing/collections/kpis/rows?{bad}")
        assert response.status_code == 400
        assert field in response.json()["error"]["fields"]
    assert bill.get(f"/api/v1/billing/collections/kpis?attorney={books.carol.pk}").status_code == 404


def test_the_kpi_api_is_for_billing_staff_and_tokens_with_billing_read(books: Cast) -> None:
    from django.test import Client

    from core.api_tokens import token_issue

    assert books.client_of(books.arthur).get("/api/v1/billing/collections/kpis").status_code == 403
    assert books.client_of(books.carol).get("/api/v1/billing/collections/kpis/rows?kpi=dso").status_code == 403
    issued = token_issue(user=books.bill, label="Books", scopes=["billing:read"], days=5, by=books.alice)
    other = token_issue(user=books.bill, label="Cases", scopes=["matters:read"], days=5, by=books.alice)
    bearer = Client(HTTP_HOST=books.firm.host, HTTP_AUTHORIZATION=f"Bearer {issued.text}")
    every = bearer.get("/api/v1/billing/collections/kpis/rows")
    assert every.status_code == 200
    assert [kpi["key"] for kpi in every.json()["kpis"]][:3] == ["dso", "collection_30", "write_off_rate"]
    wrong = Client(HTTP_HOST=books.firm.host, HTTP_AUTHORIZATION=f"Bearer {other.text}")
    assert wrong.get("/api/v1/billing/collections/kpis").status_code == 403
