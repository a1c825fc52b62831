"""Billing through the web and the API: the client's page in their language, staff pages, API reads and writes."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.credit_notes.models import CreditNote
from billing.invoices.models import Invoice
from billing.invoices.services import payment_record
from billing.money import Money
from billing.trust.models import TrustSettings
from billing.trust.services import trust_deposit
from core.models import User
from tests.support.billing import draft, issued
from tests.support.cast import Cast
from tests.support.firms import Firm
from tests.test_invoice_pdf import pdf_text


@pytest.fixture(autouse=True)
def _no_trust_policy(books: Cast) -> None:
    TrustSettings.objects.update_or_create(id=1, defaults={"apply_trust_to_invoices": False})


def test_a_spanish_client_sees_invoices_trust_balance_and_payments_in_spanish(books: Cast) -> None:
    User.objects.filter(pk=books.carol.pk).update(preferred_language="es")
    invoice = issued(books.m1, books.paula, "PET-FLAT")
    payment_record(invoice=invoice, method="wire", amount=Money(1_000_00), received_on=date(2026, 3, 9), by=books.bill)
    trust_deposit(client=books.carol, matter=books.m1, amount=Money(1_234_56), method="cash", by=books.bill)
    draft(books.m1, books.bill, "CONS-FLAT")  # drafts stay inside the firm

    page = books.firm.client(books.carol).get("/portal/billing/")

    assert page.status_code == 200
    text = page.content.decode()
    assert "Sus facturas" in text
    assert "INV-000001" in text
    assert "Pagada parcialmente" in text
    assert "2.500,00\xa0US$" in text
    assert "1.500,00\xa0US$" in text  # balance due
    assert "Saldo en la cuenta fiduciaria" in text
    assert "1.234,56\xa0US$" in text
    assert "Historial de pagos" in text
    assert "Transferencia bancaria" in text
    assert "1.000,00\xa0US$" in text
    assert text.count("1.234,56\xa0US$") == 2  # the trust balance, and the retainer in the history
    assert "draft #" not in text


def test_the_client_downloads_their_invoice_as_a_spanish_pdf_attachment(books: Cast) -> None:
    User.objects.filter(pk=books.carol.pk).update(preferred_language="es")
    invoice = issued(books.m1, books.paula, "CONS-FLAT")

    response = books.firm.client(books.carol).get(f"/portal/billing/invoices/{invoice.pk}/pdf/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="INV-000001.pdf"'
    assert "Consulta inicial" in pdf_text(response.content)


def test_another_client_and_another_firm_get_404_for_the_invoice(books: Cast, firm_b: Firm) -> None:
    invoice = issued(books.m1, books.paula, "CONS-FLAT")
    paths = [
        f"/portal/billing/invoices/{invoice.pk}/pdf/",
        f"/staff/billing/invoices/{invoice.pk}/",
        f"/api/v1/billing/invoices/{invoice.pk}",
    ]

    for path in paths:
        assert books.firm.client(books.dan).get(path).status_code == 404, path
        assert firm_b.client(firm_b.admin).get(path).status_code == 404, path
    assert "INV-000001" not in books.firm.client(books.dan).get("/portal/billing/").content.decode()


def test_a_draft_pdf_is_not_served_to_the_client(books: Cast) -> None:
    invoice = draft(books.m1, books.bill, "CONS-FLAT")
    assert books.firm.client(books.carol).get(f"/portal/billing/invoices/{invoice.pk}/pdf/").status_code == 404


def test_staff_draft_issue_pay_and_credit_an_invoice_through_the_pages(books: Cast) -> None:
    bill, paula = books.firm.client(books.bill), books.firm.client(books.paula)

    created = bill.post("/staff/billing/invoices/new/", {"matter": books.m1.pk})
    invoice = Invoice.objects.get()
    assert created["Location"] == f"/staff/billing/invoices/{invoice.pk}/"
    bill.post(f"/staff/billing/invoices/{invoice.pk}/fees/", {"template": _fee("PET-FLAT"), "quantity": 1})
    assert bill.post(f"/staff/billing/invoices/{invoice.pk}/issue/").status_code == 403  # a clerk does not issue
    paula.post(f"/staff/billing/invoices/{invoice.pk}/issue/")
    bill.post(
        f"/staff/billing/invoices/{invoice.pk}/payments/",
        {"method": "check", "amount": "500.00", "received_on": "2026-03-10", "reference": "chk 77"},
    )
    bill.post(
        f"/staff/billing/invoices/{invoice.pk}/credit-notes/",
        {"reason": "goodwill", "amount": "100.00", "memo": "delay"},
    )
    note = CreditNote.objects.get()
    paula.post(f"/staff/billing/credit-notes/{note.pk}/decide/", {"decision": "approve"})

    page = bill.get(f"/staff/billing/invoices/{invoice.pk}/")
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PARTIALLY_PAID
    text = page.content.decode()
    assert "INV-000001" in text
    assert "Partially paid" in text
    assert "$1,900.00" in text  # 2,500 - 500 - 100
    assert "<td>$2,500.00</td>" in text  # the line, formatted for people
    assert "CN-000001" in text
    assert "chk 77" in text
    ledes = bill.get(f"/staff/billing/invoices/{invoice.pk}/ledes/")
    assert ledes["Content-Disposition"] == 'attachment; filename="INV-000001.ledes.txt"'
    assert ledes.content.startswith(b"LEDES1998B[]")


def test_the_approval_queue_hides_approve_buttons_on_your_own_requests(books: Cast) -> None:
    invoice = issued(books.m1, books.paula, "CONS-FLAT")
    books.firm.client(books.paula).post(
        f"/staff/billing/invoices/{invoice.pk}/write-offs/", {"amount": "10.00", "reason": "rounding"}
    )

    own = books.firm.client(books.paula).get("/staff/billing/adjustments/").content.decode()
    other = books.firm.client(books.alice).get("/staff/billing/adjustments/").content.decode()

    assert "rounding" in own
    assert 'value="approve"' not in own
    assert 'value="approve"' in other


def test_time_is_recorded_on_a_matter_page_by_its_attorney(books: Cast) -> None:
    arthur = books.firm.client(books.arthur)

    response = arthur.post(
        f"/staff/matters/{books.m1.pk}/time/",
        {"template": _fee("RFE-HOUR"), "worked_on": "2026-03-02", "minutes": 45, "description": "Evidence review"},
    )

    assert response.status_code == 302
    assert "Evidence review" in arthur.get(f"/staff/matters/{books.m1.pk}/time/").content.decode()
    assert books.firm.client(books.anna).get(f"/staff/matters/{books.m1.pk}/time/").status_code == 404


def test_the_invoice_list_costs_the_same_queries_for_three_invoices_as_for_thirty(books: Cast) -> None:
    bill = books.firm.client(books.bill)
    for _ in range(3):
        issued(books.m1, books.paula, "CONS-FLAT")
    bill.get("/staff/billing/invoices/")  # warm-up: session, permissions
    with CaptureQueriesContext(connection) as few:
        assert bill.get("/staff/billing/invoices/").status_code == 200
    for _ in range(27):
        draft(books.m2, books.bill, "CONS-FLAT")
    with CaptureQueriesContext(connection) as many:
        bill.get("/staff/billing/invoices/")

    assert len(many) == len(few)


def test_the_api_lists_issues_takes_payments_and_credit_notes(books: Cast) -> None:
    api = books.firm.client(books.paula)
    invoice = draft(books.m1, books.bill, "PET-FLAT")

    issued_now = api.post(f"/api/v1/billing/invoices/{invoice.pk}/issue")
    payment = api.post(
        f"/api/v1/billing/invoices/{invoice.pk}/payments",
        {"method": "wire", "amount_minor": 2_500_00, "reference": "W-1"},
        content_type="application/json",
    )
    note = api.post(
        f"/api/v1/billing/invoices/{invoice.pk}/credit-notes",
        {"reason": "goodwill", "amount_minor": 10_00},
        content_type="application/json",
    )
    decided = books.firm.client(books.alice).post(
        f"/api/v1/billing/credit-notes/{note.json()['id']}/decide",
        {"decision": "approve"},
        content_type="application/json",
    )

    assert issued_now.json()["number"] == "INV-000001"
    assert payment.status_code == 201
    assert payment.json()["amount_minor"] == 2_500_00
    assert note.status_code == 201
    assert decided.json()["number"] == "CN-000001"
    detail = api.get(f"/api/v1/billing/invoices/{invoice.pk}").json()
    assert detail["status"] == "paid"
    assert detail["balance_due_minor"] == 0
    carol_sees = books.firm.client(books.carol).get("/api/v1/billing/invoices").json()["results"]
    assert [row["number"] for row in carol_sees] == ["INV-000001"]
    assert books.firm.client(books.dan).get("/api/v1/billing/invoices").json()["results"] == []
    assert (
        books.firm.client(books.carol).get("/api/v1/billing/credit-notes").json()["results"][0]["number"] == "CN-000001"
    )


def test_a_client_cannot_write_through_the_api(books: Cast) -> None:
    invoice = issued(books.m1, books.paula, "CONS-FLAT")
    carol = books.firm.client(books.carol)

    response = carol.post(
        f"/api/v1/billing/invoices/{invoice.pk}/payments",
        {"method": "cash", "amount_minor": 1},
        content_type="application/json",
    )

    assert response.status_code == 403
    assert not invoice.payments.exists()


def _fee(code: str) -> int:
    from billing.fees.models import FeeTemplate

    return FeeTemplate.objects.get(code=code).pk


def test_a_credit_refund_is_requested_on_the_invoice_and_approved_in_the_queue(books: Cast) -> None:
    from billing.credit_notes.models import CreditRefund
    from billing.credit_notes.services import credit_note_decide, credit_note_request

    invoice = issued(books.m1, books.paula, "CONS-FLAT")
    payment_record(invoice=invoice, method="check", amount=Money(300_00), by=books.bill)
    note = credit_note_request(invoice=invoice, reason="duplicate_payment", amount=Money(150_00), by=books.bill)
    credit_note_decide(note=note, approve=True, by=books.paula)
    bill, paula = books.firm.client(books.bill), books.firm.client(books.paula)

    bill.post(
        f"/staff/billing/invoices/{invoice.pk}/credit-refunds/",
        {"amount": "150.00", "method": "wire", "reason": "paid twice"},
    )
    refund = CreditRefund.objects.get()
    assert "paid twice" in paula.get("/staff/billing/adjustments/").content.decode()
    paula.post("/staff/billing/adjustments/refunds/", {"refund": refund.pk, "decision": "approve"})

    refund.refresh_from_db()
    assert refund.status == CreditRefund.Status.APPROVED
