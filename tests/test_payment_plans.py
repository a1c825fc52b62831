"""Payment plans (issue 12 item 3): installments charged off-session on a card the client saved for the plan.

Real parts: localstripe (PyPI) as a subprocess holds the Customer, the SetupIntent
and the off-session PaymentIntents, and declines the cards it declines; PostgreSQL
holds the plan and the ledger; the success event is posted over the real webhook
view with a real signature. localstripe has no Connect, so the recording front in
``tests/support/stripe.py`` stands in for the connected accounts and records the
``Stripe-Account`` and ``Idempotency-Key`` headers (localstripe ignores both). The
card form is Stripe.js in the client's browser; here the test confirms the
SetupIntent against localstripe with a card, as Stripe.js would. The scheduled job
runs in-process (the per-firm task's body, ``.apply()``); later days are given to
the service as ``today`` rather than waited for.

localstripe's decline cards: ``4000000000000002`` is refused when it is saved (the
SetupIntent fails), ``4000000000000341`` is saved and then declined when charged,
which is what an installment meets.
"""

from __future__ import annotations

import threading
import urllib.error
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from django.core import mail
from django.db import connections
from django.test import Client
from django.utils import timezone

from billing.collections.reminders import skip_reason
from billing.fees.models import FeeTemplate
from billing.invoices.models import Invoice
from billing.invoices.services import invoice_add_fee, invoice_create, invoice_issue
from billing.stripe.models import ConnectedAccount, PaymentPlan, PlanInstallment, StripeEvent
from billing.stripe.plan_tasks import charge_due_installments, charge_installments_in_every_firm
from billing.stripe.plans import (
    installments_charge_due,
    plan_accept,
    plan_amounts,
    plan_dates,
    plan_offer,
    plan_setup_refresh,
)
from billing.stripe.services import connected_account_create, connected_account_link, connected_account_refresh
from billing.trust.models import BillingTask
from core.audit.models import AuditEntry
from core.matters import matter_create
from core.models import User
from core.roles import Role
from core.services import user_create
from tenants.models import Tenant
from tests.support.billing import issued
from tests.support.cast import Cast
from tests.support.firms import Firm, FirmSpec, committed_firm
from tests.support.stripe import StripeFront, event
from tests.test_stripe_payments import post_event

GOOD_CARD = "4242424242424242"
CHARGE_DECLINED = "4000000000000341"  # saved fine, declined when charged (localstripe)
SAVE_DECLINED = "4000000000000002"  # refused when saved (localstripe)


def operating_account(cast: Cast) -> ConnectedAccount:
    """Firm A's operating account, created and onboarded (enabled), and its trust account too."""
    with cast.firm.tenant:
        for kind in ("trust", "operating"):
            account = connected_account_create(kind=kind, by=cast.alice)
            connected_account_link(account=account, by=cast.alice, refresh_url="http://x/", return_url="http://x/")
            connected_account_refresh(account=account)
        return ConnectedAccount.objects.get(kind="operating")


def offer(cast: Cast, *, installments: int = 3, interval: str = "monthly", first: date | None = None) -> PaymentPlan:
    """Bill offers Lucía a plan on a fresh invoice, from the invoice page."""
    with cast.firm.tenant:
        invoice = issued(cast.lucia_matter, cast.alice, "PET-FLAT")
    first = first or timezone.localdate()
    response = cast.client_of(cast.bill).post(
        f"/staff/billing/invoices/{invoice.pk}/plans/",
        {"installments": str(installments), "interval": interval, "first_due_on": first.isoformat()},
    )
    assert response.status_code == 302
    with cast.firm.tenant:
        return PaymentPlan.objects.get(invoice=invoice)


def save_card(front: StripeFront, setup_intent_id: str, card: str) -> dict[str, Any]:
    """What Stripe.js does on the plan's card form: confirm the SetupIntent with the card (against localstripe)."""
    method = front.ls(
        "POST",
        "/v1/payment_methods",
        {"type": "card", "card[number]": card, "card[exp_month]": "12", "card[exp_year]": "2030", "card[cvc]": "123"},
    )
    try:
        return front.ls("POST", f"/v1/setup_intents/{setup_intent_id}/confirm", {"payment_method": method["id"]})
    except urllib.error.HTTPError:  # a declined card (402): Stripe.js shows the error; the SetupIntent is not saved
        return front.ls("GET", f"/v1/setup_intents/{setup_intent_id}")


def accept(cast: Cast, front: StripeFront, plan: PaymentPlan, card: str = GOOD_CARD) -> Client:
    """Lucía accepts the plan in the portal and saves ``card``; she lands back on the plan page."""
    lucia = cast.client_of(cast.lucia)
    assert lucia.post(f"/portal/billing/plans/{plan.pk}/accept/", {"agree": "yes"}).status_code == 200
    with cast.firm.tenant:
        plan.refresh_from_db()
    save_card(front, plan.setup_intent_id, card)
    assert lucia.get(f"/portal/billing/plans/{plan.pk}/").status_code == 200
    with cast.firm.tenant:
        plan.refresh_from_db()
    return lucia


# --- Offering: the amounts and dates ------------------------------------------------------------------------


def test_the_installments_add_up_to_the_balance_exactly_with_the_remainder_last(
    cast: Cast, stripe_front: StripeFront
) -> None:
    operating_account(cast)
    plan = offer(cast, installments=7, first=date(2031, 1, 31))
    with cast.firm.tenant:
        invoice = Invoice.objects.get(pk=plan.invoice_id)
        rows = list(plan.installments.order_by("number"))
        assert plan.total_minor == invoice.balance_due_minor
        assert sum(row.amount_minor for row in rows) == invoice.balance_due_minor
        assert len({row.amount_minor for row in rows[:-1]}) == 1
        assert 0 <= rows[-1].amount_minor - rows[0].amount_minor < len(rows)
        # Monthly on the 31st: the last day of a shorter month, then the 31st again.
        assert [row.due_on for row in rows[:3]] == [date(2031, 1, 31), date(2031, 2, 28), date(2031, 3, 31)]
        offered = AuditEntry.objects.get(action="payment_plan.offer")
        assert offered.actor_email == "bill@acme.test"
        assert offered.data_dict["installments"] == 7
    page = cast.client_of(cast.bill).get(f"/staff/billing/invoices/{plan.invoice_id}/").content.decode()
    assert f"/staff/billing/plans/{plan.pk}/" in page
    assert "Offered" in page
    assert "Offer a payment plan" not in page  # one live plan per invoice
    for total, count in ((100, 3), (10_001, 4), (7, 7)):
        amounts = plan_amounts(total, count)
        assert sum(amounts) == total
        assert len(amounts) == count
        assert max(amounts[:-1]) == min(amounts[:-1]) <= amounts[-1]
    assert plan_dates(date(2031, 1, 1), "weekly", 3) == [date(2031, 1, 1), date(2031, 1, 8), date(2031, 1, 15)]


def test_an_offer_that_cannot_be_kept_is_refused_with_a_reason(cast: Cast, stripe_front: StripeFront) -> None:
    operating_account(cast)
    with cast.firm.tenant:
        invoice = issued(cast.lucia_matter, cast.alice, "PET-FLAT")
    bill = cast.client_of(cast.bill)
    url = f"/staff/billing/invoices/{invoice.pk}/plans/"
    today = timezone.localdate()
    cases = [
        ({"installments": "abc", "interval": "monthly", "first_due_on": today.isoformat()}, "number of installments"),
        ({"installments": "1", "interval": "monthly", "first_due_on": today.isoformat()}, "between 2 and 24"),
        ({"installments": "3", "interval": "daily", "first_due_on": today.isoformat()}, "weekly or monthly"),
        ({"installments": "3", "interval": "weekly", "first_due_on": str(today - timedelta(days=1))}, "in the past"),
    ]
    for form, reason in cases:
        assert reason in bill.post(url, form, follow=True).content.decode()
    with cast.firm.tenant:
        assert not PaymentPlan.objects.exists()


# --- Accepting: a SetupIntent on the operating account ---------------------------------------------------------


def test_the_client_accepts_in_spanish_and_the_card_is_saved_on_the_operating_account(
    cast: Cast, stripe_front: StripeFront
) -> None:
    operating = operating_account(cast)
    plan = offer(cast)
    lucia = cast.client_of(cast.lucia)
    billing = lucia.get("/portal/billing/").content.decode()
    assert "Planes de pagos" in billing
    assert "Revisar el plan ofrecido" in billing
    page = lucia.get(f"/portal/billing/plans/{plan.pk}/").content.decode()
    assert "El despacho le ofrece pagar esta factura en cuotas" in page
    assert "Ofrecido" in page
    assert "Marque la casilla" in lucia.post(f"/portal/billing/plans/{plan.pk}/accept/", follow=True).content.decode()
    assert not stripe_front.made("POST", "/v1/setup_intents")

    form = lucia.post(f"/portal/billing/plans/{plan.pk}/accept/", {"agree": "yes"}).content.decode()
    assert "Guarde una tarjeta para su plan" in form
    with cast.firm.tenant:
        plan.refresh_from_db()
    (customer,) = stripe_front.made("POST", "/v1/customers")
    (setup,) = stripe_front.made("POST", "/v1/setup_intents")
    assert customer.stripe_account == setup.stripe_account == operating.stripe_account_id
    assert customer.idempotency_key == plan.customer_idempotency_key
    assert setup.idempotency_key == plan.setup_idempotency_key
    assert setup.form["usage"] == ["off_session"]
    assert setup.form["customer"] == [plan.customer_id]
    assert plan.status == PaymentPlan.Status.PROPOSED  # not before Stripe says the card is saved

    save_card(stripe_front, plan.setup_intent_id, GOOD_CARD)
    page = lucia.get(f"/portal/billing/plans/{plan.pk}/").content.decode()
    assert "Su plan está activo" in page
    (read_back,) = stripe_front.made("GET", f"/v1/setup_intents/{plan.setup_intent_id}")
    assert read_back.stripe_account == operating.stripe_account_id
    with cast.firm.tenant:
        plan.refresh_from_db()
        assert plan.status == PaymentPlan.Status.ACTIVE
        assert plan.payment_method_id.startswith("pm_")
        accepted = AuditEntry.objects.get(action="payment_plan.accept")
        assert accepted.actor_email == "lucia@example.test"
        assert accepted.data_dict["setup_intent"] == plan.setup_intent_id
    staff = cast.client_of(cast.bill).get(f"/staff/billing/plans/{plan.pk}/").content.decode()
    assert 'data-testid="plan-state">Active' in staff


def test_a_card_refused_when_saved_leaves_the_plan_offered_and_a_new_try_gets_a_new_setup(
    cast: Cast, stripe_front: StripeFront
) -> None:
    operating_account(cast)
    plan = offer(cast)
    lucia = accept(cast, stripe_front, plan, card=SAVE_DECLINED)
    assert plan.status == PaymentPlan.Status.PROPOSED
    assert "Aceptar y guardar una tarjeta" in lucia.get(f"/portal/billing/plans/{plan.pk}/").content.decode()
    first = plan.setup_intent_id
    accept(cast, stripe_front, plan, card=GOOD_CARD)
    assert plan.status == PaymentPlan.Status.ACTIVE
    assert plan.setup_intent_id != first
    assert len(stripe_front.made("POST", "/v1/customers")) == 1  # the same Customer, a new SetupIntent
    keys = [call.idempotency_key for call in stripe_front.made("POST", "/v1/setup_intents")]
    assert len(set(keys)) == 2


# --- Charging: once per installment, retries, failure --------------------------------------------------------------


def test_a_due_installment_is_charged_once_even_if_the_job_runs_twice(cast: Cast, stripe_front: StripeFront) -> None:
    operating = operating_account(cast)
    plan = offer(cast)
    accept(cast, stripe_front, plan)
    with cast.firm.tenant:
        assert charge_due_installments.apply().get() == {"charged": 1}  # only the first is due today
        assert charge_due_installments.apply().get() == {}
        first = plan.installments.get(number=1)
    (charge,) = stripe_front.made("POST", "/v1/payment_intents")
    assert charge.stripe_account == operating.stripe_account_id
    assert charge.idempotency_key == first.idempotency_key
    assert charge.form["confirm"] == ["true"]
    assert charge.form["off_session"] == ["true"]
    assert charge.form["payment_method"] == [plan.payment_method_id]
    assert charge.form["amount"] == [str(first.amount_minor)]
    assert first.status == PlanInstallment.Status.CHARGED

    intent = stripe_front.ls("GET", f"/v1/payment_intents/{first.payment_intent_id}")
    assert intent["status"] == "succeeded"
    assert (
        post_event(event("payment_intent.succeeded", intent, account=str(operating.stripe_account_id))).outcome
        == "applied"
    )
    with cast.firm.tenant:
        invoice = Invoice.objects.get(pk=plan.invoice_id)
        assert invoice.paid_minor == first.amount_minor
        assert invoice.status == Invoice.Status.PARTIALLY_PAID
        assert AuditEntry.objects.filter(action="payment_plan.charge").count() == 1
    staff = cast.client_of(cast.bill).get(f"/staff/billing/plans/{plan.pk}/").content.decode()
    assert first.payment_intent_id in staff
    assert "Paid" in staff  # the installment's payment, posted by the signed event


def test_a_crash_after_the_charge_replays_the_same_key(
    cast: Cast, stripe_front: StripeFront, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key is committed before the call: the next run sends the same key, so Stripe answers the first charge."""
    from billing.stripe import plans

    operating_account(cast)
    plan = offer(cast, first=timezone.localdate())
    accept(cast, stripe_front, plan)
    real = plans._record
    answered: list[str] = []

    def crash(installment: Any, charge: Any, today: Any) -> str:
        answered.append(charge.payment_intent_id)
        raise ConnectionError("the worker died after Stripe answered")

    monkeypatch.setattr(plans, "_record", crash)
    with cast.firm.tenant, pytest.raises(ConnectionError):
        installments_charge_due()
    monkeypatch.setattr(plans, "_record", real)
    # Stripe's success event for the charge whose answer was never recorded waits: queued, its task raises
    # RetryLater (run eagerly here; a worker retries it with back-off) and nothing is recorded.
    intent = stripe_front.ls("GET", f"/v1/payment_intents/{answered[0]}")
    operating = stripe_front.made("POST", "/v1/payment_intents")[0].stripe_account
    early = post_event(event("payment_intent.succeeded", intent, account=str(operating)))
    assert (early.status_code, early.outcome) == (202, None)
    with cast.firm.tenant:
        assert not StripeEvent.objects.filter(payment__isnull=False).exists()
    with cast.firm.tenant:
        assert installments_charge_due() == {"charged": 1}
        first = plan.installments.get(number=1)
        assert first.attempts == 1
    calls = stripe_front.made("POST", "/v1/payment_intents")
    assert [call.idempotency_key for call in calls] == [first.idempotency_key] * 2


def test_a_charge_in_flight_when_the_plan_is_cancelled_is_still_recorded(
    cast: Cast, stripe_front: StripeFront, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stripe may have charged it: the replay records the answer; nothing else is charged after the cancel."""
    from billing.stripe import plans

    operating_account(cast)
    plan = offer(cast, first=timezone.localdate())
    accept(cast, stripe_front, plan)
    real = plans._record

    def crash(*args: Any, **kwargs: Any) -> str:
        raise ConnectionError("the worker died after Stripe answered")

    monkeypatch.setattr(plans, "_record", crash)
    with cast.firm.tenant, pytest.raises(ConnectionError):
        installments_charge_due()
    monkeypatch.setattr(plans, "_record", real)
    assert cast.client_of(cast.bill).post(f"/staff/billing/plans/{plan.pk}/cancel/", {"reason": "x"}).status_code == 302
    with cast.firm.tenant:
        assert installments_charge_due() == {"charged": 1}
        assert installments_charge_due(today=timezone.localdate() + timedelta(days=400)) == {}
        plan.refresh_from_db()
        assert plan.status == PaymentPlan.Status.CANCELLED
        assert list(plan.installments.values_list("status", flat=True)) == ["charged", "cancelled", "cancelled"]
    assert len(stripe_front.made("POST", "/v1/payment_intents")) == 2  # the first call and its replay, one key


def test_a_decline_is_retried_and_the_spanish_client_is_told_each_time(cast: Cast, stripe_front: StripeFront) -> None:
    operating_account(cast)
    plan = offer(cast, first=timezone.localdate())
    accept(cast, stripe_front, plan, card=CHARGE_DECLINED)
    today = timezone.localdate()
    with cast.firm.tenant:
        assert installments_charge_due(today=today) == {"declined": 1}
        assert installments_charge_due(today=today) == {}  # the retry is tomorrow
        first = plan.installments.get(number=1)
        assert first.status == PlanInstallment.Status.RETRYING
        assert first.next_attempt_on == today + timedelta(days=1)
    (notice,) = mail.outbox
    assert notice.to == ["lucia@example.test"]
    assert notice.subject == "No pudimos cobrar la cuota de su plan de pagos"
    assert "Su tarjeta fue rechazada" in notice.body
    assert "Lo intentaremos de nuevo el" in notice.body
    assert f"/portal/billing/plans/{plan.pk}/" in notice.body
    with cast.firm.tenant:
        assert installments_charge_due(today=today + timedelta(days=1)) == {"declined": 1}
        first.refresh_from_db()
        assert first.next_attempt_on == today + timedelta(days=4)
        assert first.attempts == 2
    assert len(mail.outbox) == 2
    keys = [call.idempotency_key for call in stripe_front.made("POST", "/v1/payment_intents")]
    assert len(keys) == len(set(keys)) == 2  # a retry is a new PaymentIntent under a new key
    page = cast.client_of(cast.lucia).get(f"/portal/billing/plans/{plan.pk}/").content.decode()
    assert "Rechazada, se reintentará" in page


def test_a_plan_whose_installment_is_declined_on_every_retry_fails_and_staff_are_told(
    cast: Cast, stripe_front: StripeFront
) -> None:
    operating_account(cast)
    plan = offer(cast, first=timezone.localdate())
    accept(cast, stripe_front, plan, card=CHARGE_DECLINED)
    day = timezone.localdate()
    outcomes = []
    with cast.firm.tenant:
        for _attempt in range(4):
            outcomes.append(installments_charge_due(today=day))
            day = plan.installments.get(number=1).next_attempt_on
        assert installments_charge_due(today=day + timedelta(days=60)) == {}  # nothing more is charged
        plan.refresh_from_db()
        assert plan.status == PaymentPlan.Status.FAILED
        assert set(plan.installments.values_list("status", flat=True)) == {"failed", "cancelled"}
        (task,) = BillingTask.objects.filter(kind=BillingTask.Kind.PAYMENT_PLAN_FAILED)
        assert task.client_id == cast.lucia.pk
        assert AuditEntry.objects.filter(action="payment_plan.fail").count() == 1
        invoice = Invoice.objects.get(pk=plan.invoice_id)
    assert outcomes == [{"declined": 1}] * 3 + [{"failed": 1}]
    assert len(stripe_front.made("POST", "/v1/payment_intents")) == 4
    assert "Este fue el último intento" in mail.outbox[-1].body
    assert len(mail.outbox) == 4
    trust_page = cast.client_of(cast.bill).get("/staff/billing/trust/").content.decode()
    assert f"The payment plan on {invoice.display_number} failed" in trust_page
    listing = cast.client_of(cast.bill).get("/staff/billing/plans/?status=failed").content.decode()
    assert f'data-testid="plan-{plan.pk}"' in listing
    assert "Este plan se detuvo" in cast.client_of(cast.lucia).get(f"/portal/billing/plans/{plan.pk}/").content.decode()


def test_the_beat_job_fans_out_to_every_active_firm(monkeypatch: pytest.MonkeyPatch, firm_b: Firm) -> None:
    from django.conf import settings

    from tenants.db import current_schema

    entry = settings.CELERY_BEAT_SCHEDULE["charge-plan-installments"]
    assert entry["task"] == charge_installments_in_every_firm.name
    sent_from: list[str] = []
    monkeypatch.setattr(charge_due_installments, "delay", lambda: sent_from.append(current_schema()))
    charge_installments_in_every_firm()
    assert {"acme", "globex"} <= set(sent_from)
    assert {"public", "portico_template"}.isdisjoint(sent_from)


# --- Collections, cancelling, access ------------------------------------------------------------------------------


def test_an_invoice_under_an_active_plan_gets_no_reminder(cast: Cast, stripe_front: StripeFront) -> None:
    operating_account(cast)
    plan = offer(cast, first=timezone.localdate() + timedelta(days=3))
    with cast.firm.tenant:
        invoice = Invoice.objects.get(pk=plan.invoice_id)
        assert skip_reason(invoice) == ""  # offered only: reminders go on
    accept(cast, stripe_front, plan)
    with cast.firm.tenant:
        assert skip_reason(invoice) == "under a payment plan"


def test_staff_cancel_a_plan_and_nothing_more_is_charged(cast: Cast, stripe_front: StripeFront) -> None:
    operating_account(cast)
    plan = offer(cast)
    accept(cast, stripe_front, plan)
    url = f"/staff/billing/plans/{plan.pk}/cancel/"
    assert cast.client_of(cast.lucia).post(url, {"reason": "x"}).status_code in (403, 404)
    done = cast.client_of(cast.bill).post(url, {"reason": "client paid by check"}, follow=True).content.decode()
    assert "Plan cancelled" in done
    with cast.firm.tenant:
        assert installments_charge_due(today=timezone.localdate() + timedelta(days=400)) == {}
        cancelled = AuditEntry.objects.get(action="payment_plan.cancel")
        assert cancelled.actor_email == "bill@acme.test"
        assert cancelled.data_dict["reason"] == "client paid by check"
    assert not stripe_front.made("POST", "/v1/payment_intents")
    page = cast.client_of(cast.lucia).get(f"/portal/billing/plans/{plan.pk}/").content.decode()
    assert "Este plan fue cancelado" in page


def test_no_one_else_reaches_a_clients_plan(cast: Cast, firm_b: Firm, stripe_front: StripeFront) -> None:
    operating_account(cast)
    plan = offer(cast)
    client_pages = [f"/portal/billing/plans/{plan.pk}/", f"/portal/billing/plans/{plan.pk}/accept/"]
    staff_pages = [f"/staff/billing/plans/{plan.pk}/", f"/staff/billing/plans/{plan.pk}/cancel/"]
    for who in (cast.client_of(cast.dora), firm_b.client(firm_b.admin)):
        for url in client_pages + staff_pages:
            assert who.get(url).status_code == 404, url
            assert who.post(url, {"agree": "yes"}).status_code == 404, url
    # Billing staff reach the plan, but only its client accepts it.
    assert cast.client_of(cast.bill).post(client_pages[1], {"agree": "yes"}).status_code == 404
    for url in client_pages + staff_pages:
        anonymous = cast.firm.client().get(url)
        assert anonymous.status_code == 302
        assert "/accounts/login/" in anonymous["Location"]
    assert not stripe_front.made("POST", "/v1/setup_intents")
    with cast.firm.tenant:
        with pytest.raises(Exception, match="Only the client"):
            plan_accept(plan=plan, by=cast.dora)
        with pytest.raises(Exception, match="already has a plan"):
            plan_offer(
                invoice=Invoice.objects.get(pk=plan.invoice_id),
                installments=2,
                interval="weekly",
                first_due_on=timezone.localdate(),
                by=cast.bill,
            )


def _queries_for(client: Client, path: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200
    return len(captured)


def test_the_plan_lists_do_not_query_per_plan(cast: Cast) -> None:
    """No Stripe here: an offer needs only the operating account to be enabled in the firm's books."""

    def offer_more(count: int) -> None:
        with cast.firm.tenant:
            for _ in range(count):
                invoice = issued(cast.lucia_matter, cast.alice, "PET-FLAT")
                plan_offer(
                    invoice=invoice, installments=3, interval="weekly", first_due_on=timezone.localdate(), by=cast.bill
                )

    with cast.firm.tenant:
        ConnectedAccount.objects.create(
            kind="operating",
            stripe_account_id="acct_plans_lists",
            idempotency_key="plans-lists",
            status="enabled",
            created_by=cast.alice,
        )
    offer_more(1)
    bill, lucia = cast.client_of(cast.bill), cast.client_of(cast.lucia)
    _queries_for(bill, "/staff/billing/plans/")  # the session's first request loads what it caches
    _queries_for(lucia, "/portal/billing/")
    staff_before, client_before = _queries_for(bill, "/staff/billing/plans/"), _queries_for(lucia, "/portal/billing/")
    offer_more(3)
    assert _queries_for(bill, "/staff/billing/plans/") == staff_before
    assert _queries_for(lucia, "/portal/billing/") == client_before


# --- Two runs of the job at the same moment -------------------------------------------------------------------


@pytest.fixture
def planning_firm(django_db_setup: object, django_db_blocker: Any) -> Iterator[Tenant]:
    """A committed firm of this test's own (threads on their own connections must see its rows), removed after."""
    with committed_firm(
        FirmSpec("planning", "Planning LLP", "us-east-1", "p@planning.test"), django_db_blocker
    ) as firm:
        yield firm


def test_two_runs_at_once_charge_a_due_installment_once(
    planning_firm: Tenant, stripe_front: StripeFront, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first run is held inside its call to Stripe while the second runs: the second skips the installment."""
    from billing.stripe import gateway

    firm = planning_firm
    with firm:
        admin = User.objects.get(email="p@planning.test")
        client = user_create(email="rosa@planning.test", role=Role.CLIENT, full_name="Rosa Vega", language="es")
        matter = matter_create(reference="2026-0001", title="Vega I-130", matter_type="I-130", client=client, by=admin)
        draft = invoice_create(matter=matter, by=admin)
        invoice_add_fee(invoice=draft, template=FeeTemplate.objects.get(code="CONS-FLAT"))
        invoice = invoice_issue(invoice=draft, by=admin)
        ConnectedAccount.objects.create(
            kind="operating",
            stripe_account_id="acct_planning_operating",
            idempotency_key="planning-operating",
            status="enabled",
            created_by=admin,
        )
        plan = plan_offer(
            invoice=invoice, installments=2, interval="monthly", first_due_on=timezone.localdate(), by=admin
        )
        setup = plan_accept(plan=plan, by=client)
    save_card(stripe_front, setup.setup_intent_id, GOOD_CARD)
    with firm:
        assert plan_setup_refresh(plan=plan).status == PaymentPlan.Status.ACTIVE

    real = gateway.installment_charge
    in_call, second_done = threading.Event(), threading.Event()
    results: dict[str, dict[str, int]] = {}
    errors: list[BaseException] = []

    def held(**kwargs: Any) -> Any:
        in_call.set()
        assert second_done.wait(timeout=60), "the second run never finished"
        return real(**kwargs)

    def run(name: str) -> None:
        try:
            if name == "second":
                assert in_call.wait(timeout=60), "the first run never reached Stripe"
            with firm:
                results[name] = installments_charge_due()
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)
        finally:
            if name == "second":
                second_done.set()
            connections.close_all()

    monkeypatch.setattr(gateway, "installment_charge", held)
    threads = [threading.Thread(target=run, args=(name,)) for name in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors[:3]
    assert results == {"first": {"charged": 1}, "second": {"busy": 1}}
    (charge,) = stripe_front.made("POST", "/v1/payment_intents")
    with firm:
        first = PlanInstallment.objects.get(plan=plan, number=1)
        assert charge.idempotency_key == first.idempotency_key
        assert first.status == PlanInstallment.Status.CHARGED
        assert first.attempts == 1
