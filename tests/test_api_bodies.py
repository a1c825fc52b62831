"""An API request whose JSON body is not an object (a list, a string, a number) is a 400 in the one error shape.

Found by typing the API (``request.data`` may be a list): these endpoints read
fields with ``.get`` and answered such a body with a 500.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from billing.credit_notes.services import credit_note_request
from billing.money import Money
from tests.support.billing import issued
from tests.support.cast import Cast

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse

NOT_AN_OBJECT = [[], ["matter_id", 1], '"matter_id"', "7"]  # a str is sent as the raw JSON text


def _refused_as_a_parse_error(response: TestResponse) -> None:
    assert response.status_code == 400
    assert response.json() == {
        "error": {"code": "parse_error", "message": "The request body must be a JSON object.", "fields": {}}
    }


@pytest.mark.parametrize("body", NOT_AN_OBJECT)
def test_creating_an_invoice_from_a_body_that_is_not_an_object_is_refused(cast: Cast, body: object) -> None:
    response = cast.firm.client(cast.bill).post("/api/v1/billing/invoices", body, content_type="application/json")
    _refused_as_a_parse_error(response)


@pytest.mark.parametrize("body", NOT_AN_OBJECT)
def test_deciding_a_trust_request_from_a_body_that_is_not_an_object_is_refused(cast: Cast, body: object) -> None:
    response = cast.firm.client(cast.paula).post(
        "/api/v1/ledger/trust/approvals", body, content_type="application/json"
    )
    _refused_as_a_parse_error(response)


def test_deciding_a_credit_note_from_a_body_that_is_not_an_object_is_refused(cast: Cast) -> None:
    with cast.firm.tenant:
        invoice = issued(cast.m1, cast.bill, "PET-FLAT")
        note = credit_note_request(invoice=invoice, reason="goodwill", amount=Money(10_00), by=cast.bill)
    response = cast.firm.client(cast.paula).post(
        f"/api/v1/billing/credit-notes/{note.pk}/decide", ["approve"], content_type="application/json"
    )
    _refused_as_a_parse_error(response)
