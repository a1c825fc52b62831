"""Card disputes answered from the staff payment page (issue 12 item 7): the dispute's state, amount, reason and
evidence due date; evidence (a text and one of the matter's documents) submitted through Stripe's dispute update;
a dispute accepted (Stripe's close); both audited, both on the payment's own connected account.

Real parts: localstripe (PyPI) holds the PaymentIntents; it has no disputes, Connect or
file uploads, so the recording front of ``tests/support/stripe.py`` holds the dispute
(shaped from Stripe's example ``dispute``), answers its update and close and takes the
evidence upload, and records each request with its ``Stripe-Account`` and
``Idempotency-Key`` headers, which the tests assert. The dispute's events are built by
the tests and posted, signed, to the real endpoint. The document is a real upload,
stored (encrypted) by the residency storage and read back for Stripe.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from django.utils import timezone

from billing.money import Money
from billing.stripe.models import CardDispute
from core.audit.models import AuditEntry
from residency.storage import client_files
from tests.support.casework import upload
from tests.support.cast import Cast
from tests.support.firms import Firm
from tests.support.stripe import StripeFront, dispute, event
from tests.test_stripe_payments import (
    connect_both,
    lucia_invoice,
    paid_on_stripe,
    pay_retainer,
    post_event,
    start_invoice_payment,
)

DUE = int(time.time()) + 7 * 86400


def _disputed(front: StripeFront, intent: dict[str, object], account: str, amount: int) -> dict[str, object]:
    opened = dispute(intent, amount=amount, id="dp_portico_test")
    opened["reason"] = "product_not_received"
    opened["evidence_details"]["due_by"] = DUE
    front.disputes[str(opened["id"])] = {**opened, "_account": account}
    assert post_event(event("charge.dispute.created", opened, account=account)).outcome == "applied"
    return opened


def test_staff_see_a_trust_disputes_facts_and_submit_evidence_with_a_matter_document(
    cast: Cast, stripe_front: StripeFront
) -> None:
    accounts = connect_both(cast)
    trust = str(accounts["trust"].stripe_account_id)
    payment, intent = pay_retainer(cast, stripe_front, trust, Money(400_00))
    _disputed(stripe_front, intent, trust, 150_00)
    with cast.firm.tenant:
        document = upload(cast.lucia_matter, "passport", cast.lucia)
        with client_files.open(document.storage_name) as stored:
            content = stored.read()
    url = f"/staff/billing/online-payments/{payment.pk}/"
    bill = cast.client_of(cast.bill)
    page = bill.get(url).content.decode()
    assert 'data-testid="dispute-state">Needs a response</span> (<code>needs_response</code>)' in page
    assert "$150.00" in page
    assert "Service not received (<code>product_not_received</code>)" in page
    due = timezone.localtime(datetime.fromtimestamp(DUE, tz=UTC)).strftime("%Y-%m-%d %H:%M")
    assert f'data-testid="dispute-due">{due}' in page
    assert "Submit the evidence to Stripe" in page
    assert f'<option value="{document.pk}">passport.png' in page

    refused = bill.post(f"{url}dispute/evidence/", {"text": " ", "document": str(document.pk)}, follow=True)
    assert "Write the firm&#x27;s answer to the dispute." in refused.content.decode()
    assert not stripe_front.made("POST", "/v1/disputes")
    done = bill.post(
        f"{url}dispute/evidence/",
        {"text": "The client signed the retainer agreement on 2026-01-05.", "document": str(document.pk)},
        follow=True,
    ).content.decode()
    assert "Evidence submitted to Stripe" in done
    assert 'data-testid="dispute-state">Under review' in done
    assert "Stripe takes no more answers to this dispute." in done
    (uploaded,) = stripe_front.made("POST", "/v1/files")
    assert uploaded.stripe_account == trust
    assert uploaded.form["purpose"] == ["dispute_evidence"]
    assert uploaded.files["file"] == ("passport.png", content)
    (update,) = stripe_front.made("POST", "/v1/disputes/dp_portico_test")
    assert update.stripe_account == trust
    assert update.form["evidence[uncategorized_text]"] == ["The client signed the retainer agreement on 2026-01-05."]
    assert update.form["evidence[uncategorized_file]"] == [
        stripe_front.disputes["dp_portico_test"]["evidence"]["uncategorized_file"]
    ]
    assert update.form["evidence[uncategorized_file]"][0].startswith("file_")
    assert update.form["submit"] == ["true"]
    with cast.firm.tenant:
        row = CardDispute.objects.get(dispute_id="dp_portico_test")
        assert update.idempotency_key == row.submit_idempotency_key
        assert uploaded.idempotency_key == row.file_idempotency_key
        (entry,) = AuditEntry.objects.filter(action="stripe.dispute_evidence")
        assert entry.actor_email == "bill@acme.test"
        assert entry.data_dict["dispute"] == "dp_portico_test"
        assert entry.data_dict["document"] == document.pk
    # Stripe's own news of it follows the row; answering again is refused before any call.
    assert (
        post_event(event("charge.dispute.updated", stripe_front.disputes["dp_portico_test"], account=trust)).outcome
        == "applied"
    )
    again = bill.post(f"{url}dispute/evidence/", {"text": "again"}, follow=True).content.decode()
    assert "This dispute is under review: Stripe takes no answer to it now." in again
    assert len(stripe_front.made("POST", "/v1/disputes")) == 1


def test_staff_accept_an_invoice_dispute_once_and_stripes_close_marks_it_lost(
    cast: Cast, stripe_front: StripeFront
) -> None:
    accounts = connect_both(cast)
    operating = str(accounts["operating"].stripe_account_id)
    invoice = lucia_invoice(cast)
    payment = start_invoice_payment(cast, invoice)
    intent = paid_on_stripe(stripe_front, payment)
    assert post_event(event("payment_intent.succeeded", intent, account=operating)).outcome == "applied"
    opened = _disputed(stripe_front, intent, operating, int(intent["amount"]))
    url = f"/staff/billing/online-payments/{payment.pk}/dispute/accept/"
    bill = cast.client_of(cast.bill)
    unticked = bill.post(url, {}, follow=True).content.decode()
    assert "Tick the box to confirm that the firm accepts the dispute." in unticked
    done = bill.post(url, {"confirm": "yes"}, follow=True).content.decode()
    assert "Dispute accepted: the cardholder keeps the money." in done
    assert 'data-testid="dispute-state">Lost' in done
    (close,) = stripe_front.made("POST", "/v1/disputes/dp_portico_test/close")
    assert close.stripe_account == operating
    with cast.firm.tenant:
        row = CardDispute.objects.select_related("accepted_by").get(dispute_id="dp_portico_test")
        assert close.idempotency_key == row.close_idempotency_key
        assert row.accepted_by == cast.bill
        (entry,) = AuditEntry.objects.filter(action="stripe.dispute_accept")
        assert (entry.actor_email, entry.data_dict["dispute"]) == ("bill@acme.test", "dp_portico_test")
    twice = bill.post(url, {"confirm": "yes"}, follow=True).content.decode()
    assert "This dispute is lost: Stripe takes no answer to it now." in twice
    assert len(stripe_front.made("POST", "/v1/disputes")) == 1
    closed = event("charge.dispute.closed", {**opened, "status": "lost"}, account=operating)
    assert post_event(closed).outcome == "applied"
    with cast.firm.tenant:
        payment.refresh_from_db()
        assert (payment.status, payment.dispute_outcome) == ("disputed", "lost")


def test_no_one_else_answers_a_dispute_and_only_the_matters_documents_go_to_stripe(
    cast: Cast, firm_b: Firm, stripe_front: StripeFront
) -> None:
    accounts = connect_both(cast)
    trust = str(accounts["trust"].stripe_account_id)
    payment, intent = pay_retainer(cast, stripe_front, trust, Money(400_00))
    _disputed(stripe_front, intent, trust, 100_00)
    with cast.firm.tenant:
        other = upload(cast.dora_matter, "passport", cast.dora)
    base = f"/staff/billing/online-payments/{payment.pk}/dispute/"
    for who in (cast.client_of(cast.lucia), cast.client_of(cast.dora), cast.client_of(cast.pete)):
        for action, body in (("evidence/", {"text": "x"}), ("accept/", {"confirm": "yes"})):
            assert who.post(f"{base}{action}", body).status_code in (403, 404)
    for action, body in (("evidence/", {"text": "x"}), ("accept/", {"confirm": "yes"})):
        assert firm_b.client(firm_b.admin).post(f"{base}{action}", body).status_code == 404
    bill = cast.client_of(cast.bill)
    assert bill.post(f"{base}evidence/", {"text": "x", "document": str(other.pk)}).status_code == 404
    assert bill.post(f"{base}evidence/", {"text": "x", "document": "abc"}).status_code == 404
    assert not stripe_front.made("POST", "/v1/disputes")
    assert not stripe_front.made("POST", "/v1/files")
    assert (
        "dispute-state"
        not in cast.client_of(cast.lucia).get(f"/portal/billing/payments/{payment.pk}/").content.decode()
    )
