"""Staff pages and API for the ledger, trust and reconciliation: what billing staff see, who is refused."""

from __future__ import annotations

import io

import pytest
from django.utils import timezone
from pypdf import PdfReader

from billing.ledger.models import JournalEntry
from billing.money import Money
from billing.trust.models import TrustRequest
from billing.trust.requests import trust_disbursement_request
from billing.trust.services import trust_deposit
from tests.support.cast import Cast


def _fund_carol(books: Cast) -> None:
    trust_deposit(
        client=books.carol,
        matter=books.m1,
        amount=Money(1500_00),
        method="wire",
        reference="W-1",
        by=books.bill,
        cleared_on=timezone.localdate(),
    )


def test_a_billing_clerk_records_a_deposit_and_sees_the_trust_balance(books: Cast) -> None:
    client = books.firm.client(books.bill)

    response = client.post(
        "/staff/billing/trust/deposit/",
        {"matter": books.m1.pk, "amount": "1,500.00", "method": "wire", "reference": "W-77"},
    )
    assert response.status_code == 302
    page = client.get("/staff/billing/trust/").content.decode()

    assert "carol@acme.test" in page
    assert "$1,500.00" in page
    assert "W-77" in page


def test_a_deposit_form_refuses_a_fractional_cent(books: Cast) -> None:
    response = books.firm.client(books.bill).post(
        "/staff/billing/trust/deposit/", {"matter": books.m1.pk, "amount": "10.005", "method": "cash"}
    )

    assert response.status_code == 200
    assert "Enter an amount such as 1500.00." in response.content.decode()
    assert not JournalEntry.objects.exists()


def test_a_partner_approves_a_disbursement_on_the_requests_page(books: Cast) -> None:
    _fund_carol(books)
    books.firm.client(books.bill).post(
        "/staff/billing/trust/requests/",
        {"kind": "disbursement", "matter": books.m1.pk, "amount": "535.00", "payee": "USCIS", "purpose": "I-130"},
    )
    request = TrustRequest.objects.get()
    partner = books.firm.client(books.paula)

    partner.post("/staff/billing/trust/requests/decide/", {"request_id": request.pk, "decision": "approve"})

    request.refresh_from_db()
    assert request.status == TrustRequest.Status.POSTED
    page = partner.get("/staff/billing/trust/requests/").content.decode()
    assert "Approved and paid" in page


def test_the_requester_cannot_approve_through_the_page(books: Cast) -> None:
    _fund_carol(books)
    request = trust_disbursement_request(
        client=books.carol, matter=books.m1, amount=Money(10_00), payee="USCIS", purpose="fee", by=books.alice
    )
    client = books.firm.client(books.alice)

    response = client.post(
        "/staff/billing/trust/requests/decide/", {"request_id": request.pk, "decision": "approve"}, follow=True
    )

    assert "cannot approve" in response.content.decode()
    request.refresh_from_db()
    assert request.status == TrustRequest.Status.PENDING


def test_the_client_ledger_page_and_csv_show_every_movement_with_the_running_balance(books: Cast) -> None:
    _fund_carol(books)
    client = books.firm.client(books.bill)

    page = client.get(f"/staff/billing/trust/matters/{books.m1.pk}/ledger/").content.decode()
    csv_text = client.get(f"/staff/billing/trust/matters/{books.m1.pk}/ledger.csv").content.decode()

    assert "Retainer received by wire for 2025-0001 (W-1)" in page
    assert "$1,500.00" in page
    assert csv_text.splitlines()[1].endswith(",150000,0,150000,USD")


def test_the_three_way_report_as_page_pdf_and_csv(books: Cast) -> None:
    _fund_carol(books)
    client = books.firm.client(books.paula)
    month = timezone.localdate().strftime("%Y-%m")

    page = client.get(f"/staff/billing/reconciliation/three-way/?month={month}").content.decode()
    pdf = client.get(f"/staff/billing/reconciliation/three-way.pdf?month={month}")
    csv_text = client.get(f"/staff/billing/reconciliation/three-way.csv?month={month}").content.decode()

    assert "Sum of client ledgers" in page
    assert "Balanced: adjusted bank = book = sum of client ledgers." in page  # the wire is still in transit
    text = "".join(page_.extract_text() for page_ in PdfReader(io.BytesIO(pdf.content)).pages)
    assert pdf["Content-Type"] == "application/pdf"
    assert "Three-way reconciliation" in text
    assert "Trust book balance" in text
    assert "$1,500.00" in text
    assert "book,trust book balance,150000,USD" in csv_text
    assert "clients,sum of client ledgers,150000,USD" in csv_text


def test_a_statement_is_imported_and_matched_through_the_page(books: Cast) -> None:
    _fund_carol(books)
    day = timezone.localdate().isoformat()
    upload = io.BytesIO(f"date,amount,description,reference\n{day},1500.00,WIRE IN,W-1\n".encode())
    upload.name = "statement.csv"
    client = books.firm.client(books.bill)

    response = client.post(
        "/staff/billing/reconciliation/",
        {
            "file": upload,
            "format": "csv",
            "currency": "USD",
            "closing_balance": "1500.00",
            "date_column": "date",
            "date_format": "%Y-%m-%d",
            "amount_column": "amount",
            "description_column": "description",
            "reference_column": "reference",
        },
        follow=True,
    )

    content = response.content.decode()
    assert "Imported 1 lines; 1 matched automatically." in content
    assert "Automatically" in content
    report = client.get("/staff/billing/reconciliation/three-way/").content.decode()
    assert "Balanced: adjusted bank = book = sum of client ledgers." in report


def test_a_paralegal_on_the_matter_is_refused_its_trust_ledger(books: Cast) -> None:
    response = books.firm.client(books.pete).get(f"/staff/billing/trust/matters/{books.m1.pk}/ledger/")

    assert response.status_code == 403


def test_the_api_reads_accounts_and_a_matters_trust_ledger(books: Cast) -> None:
    _fund_carol(books)
    client = books.firm.client(books.bill)

    accounts = client.get("/api/v1/ledger/accounts").json()["results"]
    trust = client.get(f"/api/v1/ledger/matters/{books.m1.pk}/trust").json()
    entries = client.get("/api/v1/ledger/entries").json()["results"]

    assert {a["name"]: a["balance_minor"] for a in accounts}["assets:trust bank:USD"] == 1500_00
    assert trust["balance_minor"] == trust["cleared_minor"] == 1500_00
    assert entries[0]["kind"] == "trust.deposit"


def test_the_api_runs_a_disbursement_through_two_approvals(books: Cast) -> None:
    from billing.trust.models import TrustSettings

    TrustSettings.objects.update_or_create(id=1, defaults={"two_approver_threshold_minor": 100_00})
    _fund_carol(books)
    created = books.firm.client(books.bill).post(
        "/api/v1/ledger/trust/requests",
        {"kind": "disbursement", "matter": books.m1.pk, "amount_minor": 535_00, "payee": "USCIS", "purpose": "fee"},
        content_type="application/json",
    )
    assert created.status_code == 201
    request_id = created.json()["id"]

    first = books.firm.client(books.paula).post(
        "/api/v1/ledger/trust/approvals", {"request": request_id}, content_type="application/json"
    )
    second = books.firm.client(books.alice).post(
        "/api/v1/ledger/trust/approvals", {"request": request_id}, content_type="application/json"
    )

    assert first.json()["status"] == "pending"
    assert second.json()["status"] == "posted"
    assert sorted(second.json()["approvals"]) == ["alice@acme.test", "paula@acme.test"]


def test_the_api_refuses_a_disbursement_over_cleared_funds(books: Cast) -> None:
    _fund_carol(books)

    response = books.firm.client(books.bill).post(
        "/api/v1/ledger/trust/requests",
        {"kind": "refund", "matter": books.m1.pk, "amount_minor": 1500_01, "purpose": "closing"},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert "cleared trust funds" in response.json()["error"]["message"]


def test_the_client_ledger_per_client_lists_each_matter_with_its_balance(books: Cast) -> None:
    _fund_carol(books)
    trust_deposit(client=books.dan, matter=books.m2, amount=Money(20_00), method="cash", by=books.bill)
    trust_deposit(client=books.dan, matter=books.m3, amount=Money(30_00), method="cash", by=books.bill)

    page = books.firm.client(books.bill).get(f"/staff/billing/trust/clients/{books.dan.pk}/ledger/").content.decode()

    assert "2025-0002" in page
    assert "2025-0003" in page
    assert "$20.00" in page
    assert "$30.00" in page
    assert "2025-0001" not in page


def test_someone_without_the_ledger_role_gets_404_for_a_clients_ledger(books: Cast) -> None:
    response = books.firm.client(books.arthur).get(f"/staff/billing/trust/clients/{books.carol.pk}/ledger/")

    assert response.status_code == 404


def test_a_check_is_marked_cleared_on_the_trust_page_and_becomes_spendable(books: Cast) -> None:
    from billing.trust.models import TrustDeposit
    from billing.trust.services import InsufficientTrustFunds

    deposit = trust_deposit(client=books.carol, matter=books.m1, amount=Money(80_00), method="check", by=books.bill)
    client = books.firm.client(books.bill)
    assert "Mark cleared" in client.get("/staff/billing/trust/").content.decode()
    with pytest.raises(InsufficientTrustFunds):
        trust_disbursement_request(
            client=books.carol, matter=books.m1, amount=Money(80_00), payee="A", purpose="a", by=books.bill
        )

    client.post("/staff/billing/trust/deposit/clear/", {"deposit_id": deposit.pk})

    assert TrustDeposit.objects.get(pk=deposit.pk).cleared_on == timezone.localdate()
    trust_disbursement_request(
        client=books.carol, matter=books.m1, amount=Money(80_00), payee="A", purpose="a", by=books.bill
    )


def test_a_firm_admin_changes_the_trust_thresholds_and_it_is_audited(books: Cast) -> None:
    """Thresholds are entered as amounts in the firm's currency, not in minor units (issue 10 item 3)."""
    from billing.trust.models import TrustSettings
    from core.audit.models import AuditEntry

    page = books.firm.client(books.alice).get("/staff/billing/trust/settings/").content.decode()
    assert 'value="5000.00"' in page  # the default 500,000 minor units, shown as an amount
    response = books.firm.client(books.alice).post(
        "/staff/billing/trust/settings/",
        {"currency": "USD", "two_approver_threshold": "2,500.00", "low_balance": "100.00"},
    )

    assert response.status_code == 302
    settings = TrustSettings.load()
    assert settings.two_approver_threshold_minor == 250000
    assert settings.two_approver_threshold == Money(2500_00)
    assert settings.low_balance_minor == 10000
    assert settings.apply_trust_to_invoices is False
    assert AuditEntry.objects.filter(action="trust.settings_update").exists()
    assert books.firm.client(books.bill).get("/staff/billing/trust/settings/").status_code == 403


def _queries_for(client: object, path: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)  # type: ignore[attr-defined]
    assert response.status_code == 200
    return len(captured)


def test_trust_list_pages_do_not_query_per_row(books: Cast) -> None:
    _fund_carol(books)
    client = books.firm.client(books.paula)

    def add_rows(count: int) -> None:
        for _ in range(count):
            trust_deposit(client=books.dan, matter=books.m2, amount=Money(1_00), method="check", by=books.bill)
            trust_disbursement_request(
                client=books.carol, matter=books.m1, amount=Money(1_00), payee="A", purpose="a", by=books.bill
            )

    add_rows(2)
    paths = ("/staff/billing/trust/", "/staff/billing/trust/requests/")
    for path in paths:  # the first request of a session also saves the session and firm settings
        client.get(path)
    few = {path: _queries_for(client, path) for path in paths}
    add_rows(6)
    many = {path: _queries_for(client, path) for path in few}

    assert many == few
