"""Trust and reconciliation objects are reached through ``billing.access`` only (issue 10 items 1 and 5).

Each accessor answers the object to billing staff who read the ledger, and
404 alike for a missing id, a malformed one and anyone else; the staff pages
and the API use them for ids sent in POST bodies and query strings. Trust
requests made on the page and through the API go through one service.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404
from django.utils import timezone

from billing.access import (
    bank_statement_for_user,
    statement_line_for_user,
    trust_bank_line_for_user,
    trust_deposit_for_user,
    trust_request_for_user,
)
from billing.ledger.models import Account, JournalLine
from billing.money import Money
from billing.reconciliation.models import BankStatement, StatementLine
from billing.trust.models import TrustRequest
from billing.trust.requests import trust_disbursement_request
from billing.trust.services import trust_deposit
from tests.support.cast import Cast

MALFORMED: list[Any] = ["12abc", "-1", "1e3", " 1", "", None, True, 1.0, 10**30, "٣", [1], {"id": 1}]


def _books(books: Cast) -> dict[str, tuple[Callable[..., Any], int]]:
    deposit = trust_deposit(
        client=books.carol, matter=books.m1, amount=Money(500_00), method="wire", reference="W-1", by=books.bill
    )
    trust_deposit(client=books.carol, matter=books.m1, amount=Money(100_00), method="cash", by=books.bill)
    request = trust_disbursement_request(
        client=books.carol, matter=books.m1, amount=Money(10_00), payee="USCIS", purpose="fee", by=books.bill
    )
    from billing.reconciliation.services import statement_import_csv
    from billing.reconciliation.statements import CsvMapping

    statement = statement_import_csv(
        data=f"date,amount,description,reference\n{timezone.localdate().isoformat()},100.00,cash,\n",
        mapping=CsvMapping(),
        currency="USD",
        by=books.bill,
        closing_balance=Money(100_00),
    )
    bank_line = JournalLine.objects.filter(account__kind=Account.Kind.TRUST_BANK).first()
    assert bank_line is not None
    return {
        "request": (trust_request_for_user, request.pk),
        "deposit": (trust_deposit_for_user, deposit.pk),
        "statement": (bank_statement_for_user, statement.pk),
        "line": (statement_line_for_user, statement.lines.get().pk),
        "bank line": (trust_bank_line_for_user, bank_line.pk),
    }


def test_each_accessor_answers_billing_staff_and_404_for_missing_malformed_and_everyone_else(books: Cast) -> None:
    for what, (accessor, pk) in _books(books).items():
        assert accessor(books.bill, pk).pk == pk, what
        assert accessor(books.paula, str(pk)).pk == pk, what
        for stranger in (books.carol, books.arthur, books.pete, books.olga, AnonymousUser()):
            with pytest.raises(Http404):
                accessor(stranger, pk)
        for bad in [*MALFORMED, pk + 10_000]:
            with pytest.raises(Http404):
                accessor(books.bill, bad)


def test_a_client_trust_ledger_line_is_not_a_trust_bank_line(books: Cast) -> None:
    _books(books)
    client_line = JournalLine.objects.filter(account__kind=Account.Kind.CLIENT_TRUST).first()
    assert client_line is not None

    with pytest.raises(Http404):
        trust_bank_line_for_user(books.bill, client_line.pk)


@pytest.mark.parametrize("wanted", ["abc", "99999", "-3", "1e3"])
def test_the_pages_answer_404_for_ids_in_the_body_or_query_that_are_missing_or_malformed(
    books: Cast, wanted: str
) -> None:
    _books(books)
    partner, clerk = books.firm.client(books.paula), books.firm.client(books.bill)

    assert (
        partner.post("/staff/billing/trust/requests/decide/", {"request_id": wanted, "decision": "approve"}).status_code
        == 404
    )
    assert clerk.post("/staff/billing/trust/deposit/clear/", {"deposit_id": wanted}).status_code == 404
    assert clerk.get(f"/staff/billing/reconciliation/?statement={wanted}").status_code == 404
    assert clerk.post("/staff/billing/reconciliation/match/", {"statement_line": wanted}).status_code == 404
    line = StatementLine.objects.get()
    assert (
        clerk.post(
            "/staff/billing/reconciliation/match/", {"statement_line": line.pk, "journal_line": wanted}
        ).status_code
        == 404
    )
    assert (
        partner.post("/api/v1/ledger/trust/approvals", {"request": wanted}, content_type="application/json").status_code
        == 404
    )
    assert TrustRequest.objects.get().status == TrustRequest.Status.PENDING


def test_a_statement_is_not_shown_to_a_client_even_with_its_id(books: Cast) -> None:
    _books(books)
    statement = BankStatement.objects.get()

    response = books.firm.client(books.carol).get(f"/staff/billing/reconciliation/?statement={statement.pk}")

    assert response.status_code in (403, 404)
    assert b"cash" not in response.content


def test_a_refund_asked_on_the_page_and_through_the_api_is_made_the_same_way(books: Cast) -> None:
    trust_deposit(client=books.carol, matter=books.m1, amount=Money(300_00), method="cash", by=books.bill)
    clerk = books.firm.client(books.bill)

    page = clerk.post(
        "/staff/billing/trust/requests/",
        {"kind": "refund", "matter": books.m1.pk, "amount": "100.00", "purpose": "closing"},
    )
    api = clerk.post(
        "/api/v1/ledger/trust/requests",
        {"kind": "refund", "matter": books.m1.pk, "amount_minor": 100_00, "purpose": "closing"},
        content_type="application/json",
    )

    assert page.status_code == 302
    assert api.status_code == 201
    made = list(TrustRequest.objects.order_by("id").values_list("kind", "payee", "amount_minor", "currency"))
    assert made == [("refund", "Carol", 100_00, "USD")] * 2


def test_an_uploaded_statement_file_is_never_shown_to_a_stranger(books: Cast) -> None:
    upload = SimpleUploadedFile("s.csv", b"date,amount,description,reference\n")
    response = books.firm.client(books.carol).post("/staff/billing/reconciliation/", {"file": upload})

    assert response.status_code in (403, 404)
    assert not BankStatement.objects.exists()
