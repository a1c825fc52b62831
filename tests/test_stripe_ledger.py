"""Online payments in the books (issue 12 item 4): fees, the monthly fee statement, disputes closed, receipts.

Real parts as in tests/test_stripe_payments.py (localstripe behind the recording
front, the real signed endpoint, PostgreSQL), whose helpers these tests use; the
webhook's task runs eagerly in the request (``stripe_front``). localstripe's
balance transactions always carry a fee of 0, so the events here are built with
their charge's balance transaction expanded and a real-looking fee
(``with_fee``, ``dispute(fee=...)``); without one, the task reads the charge's
balance transaction from localstripe (fee 0: nothing posted).
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from django.utils import timezone

from billing.ledger.accounts import account_for
from billing.ledger.models import Account, JournalLine
from billing.ledger.selectors import balance
from billing.money import Money
from billing.stripe.models import OnlinePayment, PlatformFee
from billing.trust.models import BillingTask
from core.audit.models import AuditEntry
from tests.support.cast import Cast
from tests.support.firms import Firm
from tests.support.stripe import StripeFront, dispute, event, with_fee
from tests.test_stripe_payments import (
    connect_both,
    lucia_invoice,
    paid_on_stripe,
    pay_retainer,
    post_event,
    start_invoice_payment,
)

Kind = Account.Kind


def _trust_lines_of_fees() -> int:
    return JournalLine.objects.filter(
        account__kind__in=Account.TRUST_KINDS, entry__kind__startswith="payment.fee"
    ).count()


def test_an_operating_charges_fee_is_an_operating_expense(cast: Cast, stripe_front: StripeFront) -> None:
    accounts = connect_both(cast)
    invoice = lucia_invoice(cast)
    payment = start_invoice_payment(cast, invoice)
    intent = paid_on_stripe(stripe_front, payment)
    succeeded = event(
        "payment_intent.succeeded", with_fee(intent, fee=3_20), account=str(accounts["operating"].stripe_account_id)
    )
    assert post_event(succeeded).outcome == "applied"
    assert post_event(succeeded).outcome == "duplicate"
    with cast.firm.tenant:
        currency = invoice.currency
        assert balance(account_for(Kind.PROCESSOR_FEES, currency=currency)) == Money(3_20, currency)
        assert balance(account_for(Kind.OPERATING_BANK, currency=currency)) == Money(
            payment.amount_minor - 3_20, currency
        )
        assert not PlatformFee.objects.exists()  # the operating account pays its own fees
        assert _trust_lines_of_fees() == 0


def test_a_trust_charges_fee_is_billed_to_the_platform_never_taken_from_trust(
    cast: Cast, stripe_front: StripeFront
) -> None:
    accounts = connect_both(cast)
    trust = str(accounts["trust"].stripe_account_id)
    with cast.firm.tenant:
        from billing.stripe.services import retainer_request_create

        retainer = retainer_request_create(matter=cast.lucia_matter, amount=Money(800_00), purpose="x", by=cast.bill)
    cast.client_of(cast.lucia).post(f"/portal/billing/retainers/{retainer.pk}/pay/")
    with cast.firm.tenant:
        payment = OnlinePayment.objects.get(retainer=retainer)
    intent = paid_on_stripe(stripe_front, payment)
    assert (
        post_event(event("payment_intent.succeeded", with_fee(intent, fee=23_50), account=trust)).outcome == "applied"
    )
    with cast.firm.tenant:
        currency = payment.currency
        lucia_trust = account_for(Kind.CLIENT_TRUST, client=cast.lucia, matter=cast.lucia_matter)
        assert balance(lucia_trust) == Money(800_00, currency)  # exactly the charged amount
        assert balance(account_for(Kind.TRUST_BANK, currency=currency)) == Money(800_00, currency)
        assert balance(account_for(Kind.PROCESSOR_FEES, currency=currency)) == Money(23_50, currency)
        assert balance(account_for(Kind.PLATFORM_PAYABLE, currency=currency)) == Money(23_50, currency)
        assert balance(account_for(Kind.OPERATING_BANK, currency=currency)).minor == 0  # repaid on the statement
        (fee,) = PlatformFee.objects.all()
        assert (fee.kind, fee.amount_minor, fee.payment_id) == ("charge", 23_50, payment.pk)
        assert _trust_lines_of_fees() == 0


def test_the_monthly_fee_statement_lists_each_trust_fee_and_is_audited(
    cast: Cast, firm_b: Firm, stripe_front: StripeFront
) -> None:
    accounts = connect_both(cast)
    trust = str(accounts["trust"].stripe_account_id)
    payment, intent = pay_retainer(cast, stripe_front, trust, Money(400_00))
    # The success above had localstripe's fee of 0 (nothing owed); the chargeback brings Stripe's dispute fee.
    chargeback = event("charge.dispute.created", dispute(intent, amount=100_00, fee=15_00), account=trust)
    assert post_event(chargeback).outcome == "applied"
    month = timezone.localdate().strftime("%Y-%m")
    bill = cast.client_of(cast.bill)
    page = bill.get(f"/staff/billing/fee-statement/?month={month}").content.decode()
    with cast.firm.tenant:
        (fee,) = PlatformFee.objects.all()
    assert f'data-testid="platform-fee-{fee.pk}"' in page
    assert "Dispute fee" in page
    assert str(payment.payment_intent_id) in page
    assert "To repay from operating" in page
    download = bill.get(f"/staff/billing/fee-statement.csv?month={month}")
    assert download["Content-Type"].startswith("text/csv")
    (row,) = list(csv.DictReader(io.StringIO(download.content.decode())))
    assert (row["kind"], row["amount"], row["payment_intent"]) == ("dispute", "15.00", payment.payment_intent_id)
    assert "No fees billed to the platform" in bill.get("/staff/billing/fee-statement/?month=2020-01").content.decode()
    assert "use the form YYYY-MM" in bill.get("/staff/billing/fee-statement/?month=soon").content.decode()
    with cast.firm.tenant:
        seen = list(AuditEntry.objects.filter(action="stripe.fee_statement_view").order_by("sequence"))
        data = [json.loads(entry.data) for entry in seen]
        assert [d["format"] for d in data] == ["html", "csv", "html", "html"]
        assert (data[0]["total_minor"], data[0]["count"], data[0]["month"]) == (15_00, 1, month)
    lucia = cast.client_of(cast.lucia)
    assert lucia.get("/staff/billing/fee-statement/").status_code in (403, 404)
    assert lucia.get("/staff/billing/fee-statement.csv").status_code in (403, 404)
    # Another firm's admin sees his own firm's statement: none of these fees.
    other = firm_b.client(firm_b.admin).get(f"/staff/billing/fee-statement.csv?month={month}").content.decode()
    assert str(payment.payment_intent_id) not in other


def test_a_won_trust_dispute_returns_the_money_to_that_clients_ledger(cast: Cast, stripe_front: StripeFront) -> None:
    accounts = connect_both(cast)
    trust = str(accounts["trust"].stripe_account_id)
    payment, intent = pay_retainer(cast, stripe_front, trust, Money(500_00))
    opened = dispute(intent, fee=15_00)
    assert post_event(event("charge.dispute.created", opened, account=trust)).outcome == "applied"
    with cast.firm.tenant:
        currency = payment.currency
        lucia_trust = account_for(Kind.CLIENT_TRUST, client=cast.lucia, matter=cast.lucia_matter)
        assert balance(lucia_trust).minor == 0
    won = event("charge.dispute.closed", {**opened, "status": "won", "balance_transactions": []}, account=trust)
    assert post_event(won).outcome == "applied"
    assert post_event(won).outcome == "duplicate"
    with cast.firm.tenant:
        assert balance(lucia_trust) == Money(500_00, currency)
        assert balance(account_for(Kind.TRUST_BANK, currency=currency)) == Money(500_00, currency)
        # The dispute fee stays an operating expense (billed to the platform for trust), never a trust line.
        assert balance(account_for(Kind.PROCESSOR_FEES, currency=currency)) == Money(15_00, currency)
        payment.refresh_from_db()
        assert (payment.status, payment.dispute_outcome) == ("succeeded", "won")
        assert not BillingTask.objects.filter(kind=BillingTask.Kind.TRUST_REPLENISH).exists()


def test_a_lost_dispute_stays_out_and_a_close_before_its_opening_posts_both(
    cast: Cast, stripe_front: StripeFront
) -> None:
    accounts = connect_both(cast)
    operating = str(accounts["operating"].stripe_account_id)
    invoice = lucia_invoice(cast)
    payment = start_invoice_payment(cast, invoice)
    intent = paid_on_stripe(stripe_front, payment)
    opened = dispute(intent, fee=15_00)
    lost = event("charge.dispute.closed", {**opened, "status": "lost"}, account=operating)
    # The close arrives first, even before the payment's success: Stripe's PaymentIntent is read, then all three post.
    assert post_event(lost).outcome == "applied"
    assert post_event(event("charge.dispute.created", opened, account=operating)).outcome == "duplicate"
    assert post_event(event("payment_intent.succeeded", intent, account=operating)).outcome == "duplicate"
    with cast.firm.tenant:
        currency = invoice.currency
        assert balance(account_for(Kind.OPERATING_BANK, currency=currency)) == Money(-15_00, currency)
        assert balance(account_for(Kind.PROCESSOR_FEES, currency=currency)) == Money(15_00, currency)
        payment.refresh_from_db()
        assert (payment.status, payment.dispute_outcome, payment.disputed_minor) == (
            "disputed",
            "lost",
            payment.amount_minor,
        )


def test_the_client_gets_a_receipt_in_their_language(
    cast: Cast, stripe_front: StripeFront, mailoutbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    accounts = connect_both(cast)
    invoice = lucia_invoice(cast)
    payment = start_invoice_payment(cast, invoice)
    intent = paid_on_stripe(stripe_front, payment)
    succeeded = event("payment_intent.succeeded", intent, account=str(accounts["operating"].stripe_account_id))
    with django_capture_on_commit_callbacks(execute=True):
        post_event(succeeded)
    with django_capture_on_commit_callbacks(execute=True):
        post_event(succeeded)  # a duplicate sends nothing
    (mail,) = [m for m in mailoutbox if m.to == [cast.lucia.email]]
    assert mail.subject.startswith("Recibo de su pago")
    assert "Recibimos su pago con tarjeta" in mail.body
    assert invoice.display_number in mail.body
    assert f"/portal/billing/payments/{payment.pk}/" in mail.body
