"""The monthly fee statement repaid (issue 12 item 7): a firm admin records that the operating side repaid the
platform the month's trust fees; the ledger moves the total from what is owed to the platform out of the
operating bank, the statement shows it repaid, it is audited, and a second time is refused.

Real parts: localstripe (PyPI) holds the PaymentIntent; its fees are always 0, so the
signed ``payment_intent.succeeded`` event carries a built balance transaction with
Stripe's fee (``with_fee``), as real Stripe's would.
"""

from __future__ import annotations

import re

from django.utils import timezone

from billing.ledger.accounts import account_for
from billing.ledger.models import Account, JournalEntry
from billing.ledger.selectors import balance
from billing.money import Money
from billing.stripe.models import FeeStatementRepayment, OnlinePayment
from billing.stripe.services import retainer_request_create
from core.audit.models import AuditEntry
from tests.support.cast import Cast
from tests.support.firms import Firm
from tests.support.stripe import StripeFront, event, with_fee
from tests.test_stripe_payments import connect_both, paid_on_stripe, post_event

Kind = Account.Kind
URL = "/staff/billing/fee-statement/"


def test_a_firm_admin_records_the_months_fees_repaid_once_from_operating(
    cast: Cast, firm_b: Firm, stripe_front: StripeFront
) -> None:
    trust = str(connect_both(cast)["trust"].stripe_account_id)
    with cast.firm.tenant:
        retainer = retainer_request_create(matter=cast.lucia_matter, amount=Money(800_00), purpose="x", by=cast.bill)
    cast.client_of(cast.lucia).post(f"/portal/billing/retainers/{retainer.pk}/pay/")
    with cast.firm.tenant:
        payment = OnlinePayment.objects.get(retainer=retainer)
    intent = paid_on_stripe(stripe_front, payment)
    assert (
        post_event(event("payment_intent.succeeded", with_fee(intent, fee=23_50), account=trust)).outcome == "applied"
    )
    month = timezone.localdate().strftime("%Y-%m")

    bill = cast.client_of(cast.bill)  # billing staff, not a firm admin: sees it owed, cannot record it
    seen = bill.get(f"{URL}?month={month}").content.decode()
    assert "Not repaid yet." in seen
    assert "repaid/" not in seen
    assert bill.post(f"{URL}repaid/", {"month": month, "currency": "USD"}).status_code in (403, 404)
    assert cast.client_of(cast.lucia).post(f"{URL}repaid/", {"month": month, "currency": "USD"}).status_code in (
        403,
        404,
    )

    alice = cast.client_of(cast.alice)
    assert "Record $23.50 repaid from operating" in alice.get(f"{URL}?month={month}").content.decode()
    done = alice.post(f"{URL}repaid/", {"month": month, "currency": "USD"}, follow=True).content.decode()
    assert f"Recorded: $23.50 repaid to the platform from operating for {month}." in done
    repaid = re.search(r"Repaid: \$23\.50 on [\d-]+ by alice@acme\.test \(JE-(\d+)\)\.", done)
    assert repaid is not None
    with cast.firm.tenant:
        entry = JournalEntry.objects.get(pk=int(repaid.group(1)))
        lines = {(line.account.kind, line.debit_minor, line.credit_minor) for line in entry.lines.all()}
        assert lines == {(Kind.PLATFORM_PAYABLE, 23_50, 0), (Kind.OPERATING_BANK, 0, 23_50)}
        assert balance(account_for(Kind.PLATFORM_PAYABLE, currency="USD")).minor == 0
        assert balance(account_for(Kind.TRUST_BANK, currency="USD")) == Money(800_00)  # trust never touched
        (audited,) = AuditEntry.objects.filter(action="stripe.fee_statement_repaid")
        assert audited.actor_email == "alice@acme.test"
        assert (audited.data_dict["month"], audited.data_dict["total_minor"]) == (month, 23_50)

    twice = alice.post(f"{URL}repaid/", {"month": month, "currency": "USD"}, follow=True).content.decode()
    assert f"The {month} fee statement in USD is already recorded as repaid." in twice
    empty = alice.post(f"{URL}repaid/", {"month": "2020-01", "currency": "USD"}, follow=True).content.decode()
    assert "No fees in USD were billed to the platform in 2020-01: nothing to repay." in empty
    bad = alice.post(f"{URL}repaid/", {"month": "soon", "currency": "USD"}, follow=True).content.decode()
    assert "use the form YYYY-MM" in bad
    with cast.firm.tenant:
        assert FeeStatementRepayment.objects.count() == 1
        assert JournalEntry.objects.filter(kind="payment.fee.platform.repaid").count() == 1
    # Another firm's admin records nothing of this firm's: his own statement has no fees.
    other = firm_b.client(firm_b.admin).post(f"{URL}repaid/", {"month": month, "currency": "USD"}, follow=True)
    assert "nothing to repay" in other.content.decode()
    with cast.firm.tenant:
        assert FeeStatementRepayment.objects.count() == 1
