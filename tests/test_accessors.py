"""The accessors of core/access.py and billing/access.py: one per protected model, 404 for missing, not yours
and malformed alike (issue 10 item 1)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404

from billing.access import credit_refund_for_user, invoice_for_user, matter_for_billing
from billing.money import Money
from core.access import is_client_of, is_party_to, matters_for_user, may_change_matter, object_id
from tests.support.billing import issued
from tests.support.cast import Cast

MALFORMED = ["abc", "", " ", "1e3", "-1", "1.0", "0x10", "\uff11\uff12", "99999999999999999999999", "None", "[1]"]


@pytest.mark.parametrize("wanted", MALFORMED)
def test_a_malformed_credit_refund_id_in_the_form_is_404_not_500(cast: Cast, wanted: str) -> None:
    paula = cast.firm.client(cast.paula)

    response = paula.post("/staff/billing/adjustments/refunds/", {"refund": wanted, "decision": "approve"})

    assert response.status_code == 404


@pytest.mark.parametrize("wanted", [*MALFORMED, "0", "012", 0, -3, True, 2**63, 1.0, None, [1]])
def test_object_id_reads_only_plain_positive_ids(wanted: object) -> None:
    with pytest.raises(Http404, match="No such matter"):
        object_id(wanted, "matter")


def test_object_id_reads_an_id_from_a_path_a_form_or_json() -> None:
    assert [object_id(12, "matter"), object_id("12", "matter"), object_id("9" * 18, "matter")] == [12, 12, 10**18 - 1]


def test_who_may_change_a_matter_and_who_is_party_to_it(books: Cast) -> None:
    people = books.people()
    m1 = books.m1

    may_change = {name for name, person in people.items() if may_change_matter(person, m1)}
    clients = {name for name, person in people.items() if is_client_of(person, m1)}
    parties = {name for name, person in people.items() if is_party_to(person, m1)}

    assert may_change == {"alice", "paula", "arthur", "pete"}
    assert clients == {"carol"}
    # Olga's live grant lets her read M1, not take part in it; nobody anonymous is anything.
    assert parties == {"alice", "paula", "arthur", "pete", "carol"}
    assert not is_party_to(AnonymousUser(), m1)
    assert not may_change_matter(AnonymousUser(), m1)


def test_billing_staff_reach_every_matter_for_billing_and_nobody_else_does(books: Cast) -> None:
    assert not matters_for_user(books.bill).filter(pk=books.m1.pk).exists()  # no matter of his own

    assert matter_for_billing(books.bill, str(books.m1.pk)) == books.m1
    assert matter_for_billing(books.carol, books.m1.pk) == books.m1  # her own, through core.access
    refused = [(books.dan, books.m1.pk), (books.anna, books.m1.pk), (books.bill, "x"), (books.bill, 10**15)]
    for outsider, wanted in refused:
        with pytest.raises(Http404):
            matter_for_billing(outsider, wanted)


def test_a_client_reaches_their_issued_invoice_and_credit_refunds_are_for_billing_staff(books: Cast) -> None:
    from billing.credit_notes.refunds import credit_refund_request
    from billing.credit_notes.services import credit_note_decide, credit_note_request
    from billing.invoices.services import payment_record

    invoice = issued(books.m1, books.alice, "CONS-FLAT")
    payment_record(invoice=invoice, method="check", amount=Money(300_00), by=books.bill)  # paid twice over
    note = credit_note_request(invoice=invoice, reason="duplicate_payment", amount=Money(150_00), by=books.bill)
    credit_note_decide(note=note, approve=True, by=books.paula)
    refund = credit_refund_request(client=books.carol, amount=Money(10_00), method="check", reason="x", by=books.bill)

    assert invoice_for_user(books.carol, invoice.pk) == invoice
    assert credit_refund_for_user(books.bill, str(refund.pk)) == refund
    for who in (books.carol, books.dan, books.arthur):
        with pytest.raises(Http404):
            credit_refund_for_user(who, refund.pk)
    with pytest.raises(Http404):
        invoice_for_user(books.dan, invoice.pk)
