"""The invoice PDF is in the client's language, amounts and dates formatted for it (read back with pdftotext)."""

from __future__ import annotations

import subprocess
from datetime import date

import pytest

from billing.fees.services import time_entry_record
from billing.invoices.models import Invoice
from billing.invoices.pdf import invoice_pdf, invoice_pdf_filename
from billing.invoices.services import invoice_add_time, invoice_issue
from billing.trust.models import TrustSettings
from core.models import User
from tests.support.billing import draft, template
from tests.support.cast import Cast


def pdf_text(pdf: bytes) -> str:
    assert pdf.startswith(b"%PDF-")
    done = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True)
    return " ".join(done.stdout.decode("utf-8").split())


@pytest.fixture
def invoice_with_time(books: Cast) -> Invoice:
    TrustSettings.objects.update_or_create(id=1, defaults={"apply_trust_to_invoices": False})
    time_entry_record(
        matter=books.m1,
        timekeeper=books.arthur,
        worked_on=date(2026, 3, 2),
        minutes=90,
        description="Interview preparation",
        template=template("RFE-HOUR"),
        by=books.arthur,
    )
    invoice = draft(books.m1, books.bill, "PET-FLAT", "USCIS-FEE")
    invoice_add_time(invoice=invoice)
    return invoice_issue(invoice=invoice, by=books.paula, issued_on=date(2026, 3, 5))


def test_a_spanish_speaking_client_gets_a_spanish_invoice_with_spanish_number_formats(
    books: Cast, invoice_with_time: Invoice
) -> None:
    User.objects.filter(pk=books.carol.pk).update(preferred_language="es")
    invoice_with_time.client.refresh_from_db()

    text = pdf_text(invoice_pdf(invoice_with_time))

    assert "Factura INV-000001" in text
    assert "Saldo pendiente" in text
    assert "Preparación y presentación de la petición" in text
    assert "Tasa de presentación de USCIS" in text
    assert "2.500,00 US$" in text
    assert "675,00 US$" in text
    assert "1,5 h x 300,00 US$" in text  # 90 minutes at the RFE hourly rate
    assert "3.625,00 US$" in text  # 2,500 + 675 + 450
    assert "5 de marzo de 2026" in text
    assert "Invoice" not in text


def test_an_english_speaking_client_gets_an_english_invoice(books: Cast, invoice_with_time: Invoice) -> None:
    text = pdf_text(invoice_pdf(invoice_with_time))

    assert "Invoice INV-000001" in text
    assert "Balance due $3,625.00" in text
    assert "Petition preparation and filing" in text
    assert "1.5 h x $300.00" in text
    assert "March 5, 2026" in text
    assert "Carol Diaz marriage petition" in text


def test_the_pdf_filename_is_chosen_by_the_server(books: Cast, invoice_with_time: Invoice) -> None:
    assert invoice_pdf_filename(invoice_with_time) == "INV-000001.pdf"
