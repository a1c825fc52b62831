"""Bad input on money paths gets a clear error naming the field (or the row), and nothing is stored (issue 18 item 4).

Through the API and the staff pages, as an integration or a clerk would send
it: currencies that are not ISO 4217 upper-case codes Babel knows, amounts that
are huge, not finite, in exponent notation or floats, absurd dates; postings
dated in a month whose reconciliation was signed off; bank statements with
malformed rows.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from billing.ledger.models import JournalEntry
from billing.reconciliation.models import BankStatement, StatementLine
from billing.trust.models import TrustDeposit, TrustRequest
from tests.support.cast import Cast

DEPOSITS = "/api/v1/ledger/trust/deposits"


def _post_json(client: Client, path: str, body: str) -> Any:
    return client.post(path, body, content_type="application/json")


def _deposit_body(books: Cast, **changes: Any) -> dict[str, Any]:
    return {"matter": books.m1.pk, "amount_minor": 150_000, "method": "cash", **changes}


def _nothing_stored() -> None:
    assert not TrustDeposit.objects.exists()
    assert not JournalEntry.objects.exists()


@pytest.mark.parametrize("currency", ["usd", "ZZZ", "12", "XTS", "EURO", ""])
def test_an_api_deposit_in_a_currency_that_is_not_one_is_refused(books: Cast, currency: str) -> None:
    response = _post_json(books.firm.client(books.bill), DEPOSITS, json.dumps(_deposit_body(books, currency=currency)))

    assert response.status_code == 400, response.content
    assert "currency" in response.json()["error"]["fields"]
    _nothing_stored()


@pytest.mark.parametrize(
    "raw_amount",
    ["100000000000000000000", "9223372036854775808", "1e3", "1000.0", '"sNaN"', '"Infinity"', '"1e3"', "-5", "0"],
)
def test_an_api_deposit_with_an_amount_that_is_not_whole_minor_units_in_range_is_refused(
    books: Cast, raw_amount: str
) -> None:
    body = json.dumps(_deposit_body(books)).replace("150000", raw_amount)

    response = _post_json(books.firm.client(books.bill), DEPOSITS, body)

    assert response.status_code == 400, response.content
    assert "amount_minor" in response.json()["error"]["fields"]
    _nothing_stored()


@pytest.mark.parametrize("raw_amount", ["Infinity", "-Infinity", "NaN"])
def test_an_api_body_with_a_non_finite_number_is_refused_as_invalid_json(books: Cast, raw_amount: str) -> None:
    body = json.dumps(_deposit_body(books)).replace("150000", raw_amount)

    response = _post_json(books.firm.client(books.bill), DEPOSITS, body)

    assert response.status_code == 400
    assert "not JSON compliant" in response.json()["error"]["message"]
    _nothing_stored()


@pytest.mark.parametrize("day", ["0001-01-01", "1999-12-31", "2999-01-01"])
def test_an_api_deposit_dated_before_2000_or_in_the_future_is_refused(books: Cast, day: str) -> None:
    response = _post_json(books.firm.client(books.bill), DEPOSITS, json.dumps(_deposit_body(books, received_on=day)))

    assert response.status_code == 400, response.content
    assert "received_on" in response.json()["error"]["fields"]
    _nothing_stored()


def test_an_api_trust_request_or_payment_of_a_huge_amount_is_refused_not_a_500(books: Cast) -> None:
    client = books.firm.client(books.bill)
    assert _post_json(client, DEPOSITS, json.dumps(_deposit_body(books))).status_code == 201

    request = _post_json(
        client,
        "/api/v1/ledger/trust/requests",
        json.dumps({"kind": "disbursement", "matter": books.m1.pk, "amount_minor": 10**19, "purpose": "fee"}),
    )

    assert request.status_code == 400, request.content
    assert "amount_minor" in request.json()["error"]["fields"]
    assert not TrustRequest.objects.exists()


DEPOSIT_PAGE = "/staff/billing/trust/deposit/"


@pytest.mark.parametrize("amount", ["1e3", "Infinity", "sNaN", "NaN", "99999999999999999999", "12,34", "-5"])
def test_the_deposit_page_refuses_an_amount_people_do_not_type_with_a_message(books: Cast, amount: str) -> None:
    response = books.firm.client(books.bill).post(
        DEPOSIT_PAGE, {"matter": books.m1.pk, "amount": amount, "method": "cash"}
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert re.search(r"Enter (an amount such as 1500\.00|an amount of at most|a positive amount)", page)
    _nothing_stored()


def test_the_deposit_page_refuses_an_absurd_date_at_the_field(books: Cast) -> None:
    response = books.firm.client(books.bill).post(
        DEPOSIT_PAGE, {"matter": books.m1.pk, "amount": "100.00", "method": "cash", "received_on": "0001-01-01"}
    )

    assert response.status_code == 200
    assert "before 2000-01-01" in response.content.decode()
    _nothing_stored()


def _statement_csv(rows: list[str]) -> SimpleUploadedFile:
    return SimpleUploadedFile("statement.csv", ("date,amount,description,reference\n" + "\n".join(rows)).encode())


def _import(books: Cast, rows: list[str], *, imported: bool = False, **fields: str) -> str:
    """Post a CSV statement; the page with its errors (or, when ``imported``, expect the redirect)."""
    response = books.firm.client(books.bill).post(
        "/staff/billing/reconciliation/",
        {
            "file": _statement_csv(rows),
            "format": "csv",
            "currency": "USD",
            "closing_balance": "100.00",
            "date_column": "date",
            "date_format": "%Y-%m-%d",
            "amount_column": "amount",
            "description_column": "description",
            "reference_column": "reference",
            **fields,
        },
    )
    assert response.status_code == (302 if imported else 200), response.content.decode()[-2000:]
    return response.content.decode()


@pytest.mark.parametrize(
    ("bad_row", "words"),
    [
        ("{day},abc,wire,W-1", "not an amount"),
        ("{day},,wire,W-1", "empty"),
        ("{day},1e3,wire,W-1", "not an amount"),
        ("{day},Infinity,wire,W-1", "not an amount"),
        ("{day},12.345,wire,W-1", "more decimals"),
        ("{day}", "fewer cells"),
        ("{day},5.00,wire,W-1,extra", "more cells"),
        ("2999-01-01,5.00,wire,W-1", "not a date a bank could have booked"),
        ("31/01/2025,5.00,wire,W-1", "not a date"),
    ],
)
def test_a_malformed_statement_row_is_named_and_nothing_is_imported(books: Cast, bad_row: str, words: str) -> None:
    day = timezone.localdate().isoformat()
    page = _import(books, [f"{day},100.00,wire in,W-1", bad_row.format(day=day), f"{day},-1.00,fee,"])

    assert "row 3:" in page, page[page.find("errorlist") - 200 : page.find("errorlist") + 400]
    assert words in page
    assert not BankStatement.objects.exists()
    assert not StatementLine.objects.exists()


def test_a_statement_in_a_currency_that_is_not_one_is_refused(books: Cast) -> None:
    page = _import(books, [f"{timezone.localdate().isoformat()},100.00,wire,W-1"], currency="ZZZ")

    assert "&#x27;ZZZ&#x27; is not a currency" in page
    assert not BankStatement.objects.exists()


def _last_month() -> tuple[date, date]:
    last = timezone.localdate().replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last


def test_a_reconciled_month_takes_no_more_trust_postings(books: Cast) -> None:
    first, last = _last_month()
    bill = books.firm.client(books.bill)
    wired = _post_json(
        bill,
        DEPOSITS,
        json.dumps(
            _deposit_body(
                books,
                amount_minor=100_00,
                method="wire",
                received_on=first.isoformat(),
                cleared_on=first.isoformat(),
                reference="W-1",
            )
        ),
    )
    assert wired.status_code == 201, wired.content
    _import(books, [f"{first.isoformat()},100.00,wire in,W-1"], imported=True, closing_balance="100.00")
    assert StatementLine.objects.filter(matched_line__isnull=False).count() == 1

    closed = bill.post("/staff/billing/reconciliation/close/", {"month": f"{first:%Y-%m}", "currency": "USD"})
    assert closed.status_code == 302
    three_way = bill.get(f"/staff/billing/reconciliation/three-way/?month={first:%Y-%m}").content.decode()
    assert "Closed on" in three_way

    late = _post_json(
        bill,
        DEPOSITS,
        json.dumps(_deposit_body(books, amount_minor=5_00, received_on=last.isoformat())),
    )
    assert late.status_code == 400, late.content
    assert "received_on" in late.json()["error"]["fields"]
    assert "reconciled" in late.json()["error"]["fields"]["received_on"][0]
    page = bill.post(
        DEPOSIT_PAGE, {"matter": books.m1.pk, "amount": "5.00", "method": "cash", "received_on": last.isoformat()}
    ).content.decode()
    assert "reconciled and closed" in page
    assert TrustDeposit.objects.count() == 1
    line = StatementLine.objects.get()
    unmatch = bill.post("/staff/billing/reconciliation/match/", {"statement_line": line.pk, "action": "unmatch"})
    assert unmatch.status_code == 302
    line.refresh_from_db()
    assert line.matched_line_id is not None  # the closed month's matching stays as signed off
    today = _post_json(bill, DEPOSITS, json.dumps(_deposit_body(books, amount_minor=5_00)))
    assert today.status_code == 201


def test_a_month_that_does_not_balance_or_is_not_over_cannot_be_closed(books: Cast) -> None:
    first, _ = _last_month()
    bill = books.firm.client(books.bill)
    _post_json(bill, DEPOSITS, json.dumps(_deposit_body(books, amount_minor=100_00, received_on=first.isoformat())))

    bill.post("/staff/billing/reconciliation/close/", {"month": f"{first:%Y-%m}", "currency": "USD"})
    bill.post("/staff/billing/reconciliation/close/", {"month": f"{timezone.localdate():%Y-%m}", "currency": "USD"})

    page = bill.get(f"/staff/billing/reconciliation/three-way/?month={first:%Y-%m}").content.decode()
    assert "Closed on" not in page
    late = _post_json(
        bill, DEPOSITS, json.dumps(_deposit_body(books, amount_minor=5_00, received_on=first.isoformat()))
    )
    assert late.status_code == 201
