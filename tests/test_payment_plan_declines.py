"""Declined installments (issue 12 item 3): an installment whose PaymentIntent is declined does not stay
"started": its payment shows as declined with the bank's reason, it is retried on the schedule, and after the
last retry the plan defaults (past due), the client is told in her language and staff get a task.

Real parts: localstripe (PyPI) holds the Customer, the saved card and the off-session
PaymentIntents and declines ``4000000000000341`` when it is charged (it saves fine:
localstripe's cards that fail when attached are refused at the SetupIntent instead,
see tests/test_payment_plans.py); the recording front of ``tests/support/stripe.py``
stands in for Connect. A charge that Stripe first takes and later fails
(``payment_intent.payment_failed``, e.g. after ``processing``) is an event the test
builds around the real PaymentIntent and posts, signed, to the real endpoint.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core import mail
from django.utils import timezone

from billing.stripe.models import OnlinePayment, PaymentPlan, PlanInstallment
from billing.stripe.plans import installments_charge_due
from billing.trust.models import BillingTask
from core.audit.models import AuditEntry
from tests.support.cast import Cast
from tests.support.stripe import StripeFront, event
from tests.test_payment_plans import CHARGE_DECLINED, accept, offer, operating_account
from tests.test_stripe_payments import post_event


def test_a_declined_installment_shows_as_declined_with_the_reason_and_starts_again_on_its_retry(
    cast: Cast, stripe_front: StripeFront
) -> None:
    operating_account(cast)
    plan = offer(cast, first=timezone.localdate())
    accept(cast, stripe_front, plan, card=CHARGE_DECLINED)
    today = timezone.localdate()
    with cast.firm.tenant:
        assert installments_charge_due(today=today) == {"declined": 1}
        first = plan.installments.select_related("payment").get(number=1)
        payment = first.payment
        assert payment is not None
        assert payment.status == OnlinePayment.Status.FAILED
        assert payment.failure_reason == first.last_error
        assert payment.failure_reason  # the bank's message, and its decline code
    bill = cast.client_of(cast.bill)
    detail = bill.get(f"/staff/billing/online-payments/{payment.pk}/").content.decode()
    assert f"Online payment {payment.pk}: Declined" in detail
    assert f"The card was declined: {payment.failure_reason}" in detail
    listing = bill.get("/staff/billing/online-payments/?status=failed").content.decode()
    assert f'data-testid="online-payment-{payment.pk}"' in listing
    assert bill.get("/staff/billing/online-payments/?status=started").content.decode().count("online-payment-") == 0
    plan_page = bill.get(f"/staff/billing/plans/{plan.pk}/").content.decode()
    assert "Declined, will retry" in plan_page
    assert payment.failure_reason in plan_page

    with cast.firm.tenant:
        # The retry: the same payment row, started again under a new key, and declined again.
        (claimed,) = stripe_front.made("POST", "/v1/payment_intents")
        assert installments_charge_due(today=today + timedelta(days=1)) == {"declined": 1}
        payment.refresh_from_db()
        assert payment.status == OnlinePayment.Status.FAILED
        assert payment.idempotency_key != claimed.idempotency_key
    assert len(mail.outbox) == 2


def test_after_the_last_retry_the_plan_defaults_past_due_the_client_is_told_in_spanish_and_staff_get_a_task(
    cast: Cast, stripe_front: StripeFront
) -> None:
    operating_account(cast)
    plan = offer(cast, first=timezone.localdate())
    accept(cast, stripe_front, plan, card=CHARGE_DECLINED)
    day = timezone.localdate()
    with cast.firm.tenant:
        for _attempt in range(4):
            installments_charge_due(today=day)
            day = plan.installments.get(number=1).next_attempt_on
        plan.refresh_from_db()
        assert plan.status == PaymentPlan.Status.FAILED
        first = plan.installments.select_related("payment").get(number=1)
        assert first.status == PlanInstallment.Status.FAILED
        assert first.payment is not None
        assert first.payment.status == OnlinePayment.Status.FAILED
        (task,) = BillingTask.objects.filter(kind=BillingTask.Kind.PAYMENT_PLAN_FAILED, client=cast.lucia)
    last = mail.outbox[-1]
    assert last.to == ["lucia@example.test"]
    assert last.subject == "No pudimos cobrar la cuota de su plan de pagos"
    assert "Este fue el último intento" in last.body
    bill = cast.client_of(cast.bill)
    assert (
        'data-testid="plan-state">Defaulted (past due)' in bill.get(f"/staff/billing/plans/{plan.pk}/").content.decode()
    )
    assert task.message in bill.get("/staff/billing/trust/").content.decode()


def test_a_charge_stripe_fails_after_taking_it_is_declined_retried_and_the_client_told(
    cast: Cast, stripe_front: StripeFront, django_capture_on_commit_callbacks: Any
) -> None:
    operating = operating_account(cast)
    plan = offer(cast, first=timezone.localdate())
    accept(cast, stripe_front, plan)
    today = timezone.localdate()
    with cast.firm.tenant:
        assert installments_charge_due(today=today) == {"charged": 1}
        first = plan.installments.select_related("payment").get(number=1)
        assert first.payment is not None
        assert first.payment.status == OnlinePayment.Status.STARTED  # until Stripe's event says how it ended
    intent = stripe_front.ls("GET", f"/v1/payment_intents/{first.payment_intent_id}")
    intent.update(
        status="requires_payment_method",
        last_payment_error={
            "type": "card_error",
            "code": "card_declined",
            "decline_code": "insufficient_funds",
            "message": "Your card has insufficient funds.",
        },
    )
    failed = event("payment_intent.payment_failed", intent, account=str(operating.stripe_account_id))
    with django_capture_on_commit_callbacks(execute=True):
        assert post_event(failed).outcome == "applied"
    with django_capture_on_commit_callbacks(execute=True):
        assert post_event(failed).outcome == "duplicate"
    with cast.firm.tenant:
        first.refresh_from_db()
        assert first.payment is not None
        assert (first.status, first.next_attempt_on) == (PlanInstallment.Status.RETRYING, today + timedelta(days=1))
        assert first.payment.status == OnlinePayment.Status.FAILED
        assert first.payment.failure_reason == "Your card has insufficient funds. (insufficient_funds)"
        charge_audit = AuditEntry.objects.filter(action="payment_plan.charge").order_by("sequence").last()
        assert charge_audit is not None
        assert charge_audit.data_dict["decline_code"] == "insufficient_funds"
    (notice,) = mail.outbox
    assert notice.subject == "No pudimos cobrar la cuota de su plan de pagos"
    assert "Lo intentaremos de nuevo el" in notice.body
