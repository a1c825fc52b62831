"""Stripe events through a real Celery worker (issue 12 item 5): queued by the endpoint, applied by the worker.

Where the worker matters: the endpoint answers once the task is on the broker
(Redis with REDIS_URL), the task is pinned to the firm the event was routed to,
it re-reads a PaymentIntent from Stripe when a refund comes before the
payment's success, and it retries with back-off while Stripe cannot be read.
The firm is one of this test's own, committed (``committed_firm``) so the worker
sees it; the worker (``tests.support.worker``) shares this process's broker and
reaches the recording Stripe front (and localstripe behind it) over loopback.
The front's ``down`` switch makes its PaymentIntent reads answer 503: the one
stand-in here for Stripe being unreachable. Every other test of the webhook runs
its task eagerly, in-process (``stripe_front``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from pytest_django import Settings

from billing.ledger.accounts import account_for
from billing.ledger.models import Account
from billing.ledger.selectors import balance
from billing.money import Money
from billing.stripe.models import ConnectedAccount, OnlinePayment, StripeEvent
from billing.stripe.services import retainer_request_create
from core.matters import matter_create
from core.models import User
from core.roles import Role
from core.services import user_create
from tenants.models import StripeAccountRoute, Tenant
from tests.support.firms import FirmSpec, committed_firm
from tests.support.online_payments import online_payment_started
from tests.support.stripe import (
    SECRET_KEY,
    WEBHOOK_SECRET,
    StripeFront,
    charge_refunded,
    event,
    sign,
)
from tests.support.worker import Worker, celery_worker, wait_for, worker_queue

pytestmark = pytest.mark.slow
FIRM = FirmSpec("stripeq", "Stripe Queue LLP", "us-east-1", "a@stripeq.test")
TRUST = "acct_stripeq_trust"


@dataclass
class Setup:
    tenant: Tenant
    front: StripeFront
    worker: Worker
    payment: OnlinePayment
    intent: dict[str, Any]


@pytest.fixture
def queued(
    django_db_setup: object,
    django_db_blocker: Any,
    stripe_servers: StripeFront,
    settings: Settings,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Setup]:
    stripe_servers.reset()
    settings.PORTICO_STRIPE_SECRET_KEY = SECRET_KEY
    settings.PORTICO_STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.PORTICO_STRIPE_API_BASE = stripe_servers.url
    settings.PORTICO_STRIPE_QUEUE = worker_queue()
    env = {
        "PORTICO_STRIPE_SECRET_KEY": SECRET_KEY,
        "PORTICO_STRIPE_API_BASE": stripe_servers.url,
        "PORTICO_STRIPE_QUEUE": worker_queue(),
    }
    with committed_firm(FIRM, django_db_blocker) as tenant:
        with tenant:
            admin = User.objects.get(email=FIRM.admin_email)
            client = user_create(email="rosa@stripeq.test", role=Role.CLIENT, full_name="Rosa Vega")
            matter = matter_create(reference="SQ-1", title="I-130", matter_type="I-130", client=client, by=admin)
            trust = ConnectedAccount.objects.create(
                kind="trust", stripe_account_id=TRUST, idempotency_key="k-trust", created_by=admin, status="enabled"
            )
            retainer = retainer_request_create(matter=matter, amount=Money(250_00), purpose="x", by=admin)
            payment = online_payment_started(
                stripe_servers, trust, client=client, amount=Money(250_00), retainer=retainer
            )
        StripeAccountRoute.objects.create(account_id=TRUST, tenant=tenant)
        intent = stripe_servers.pay(str(payment.payment_intent_id))
        try:
            with celery_worker(tmp_path_factory.mktemp("stripe-worker"), env=env, shared_broker=True) as worker:
                yield Setup(tenant=tenant, front=stripe_servers, worker=worker, payment=payment, intent=intent)
        finally:
            StripeAccountRoute.objects.filter(account_id=TRUST).delete()


def _post(body: dict[str, Any]) -> Any:
    payload = json.dumps(body).encode()
    return Client(HTTP_HOST="localhost").post(
        "/stripe/webhook/", data=payload, content_type="application/json", headers={"Stripe-Signature": sign(payload)}
    )


def _applied(setup: Setup, event_id: str) -> bool:
    with setup.tenant:
        return StripeEvent.objects.filter(event_id=event_id).exists()


def test_a_refund_before_the_success_waits_for_stripe_then_ends_as_stripe_holds_it(queued: Setup) -> None:
    """One test, as the committed firm and the worker take most of its time."""
    from core.celery import app as celery_app

    setup, worker = queued, queued.worker
    early = event("charge.refunded", charge_refunded(setup.intent, amount_refunded=100_00), account=TRUST)
    # The broker is unreachable: not 2xx, so Stripe sends the event again; nothing is queued or recorded.
    good = celery_app.conf.broker_url
    celery_app.conf.update(broker_url="redis://127.0.0.1:1/0")  # a real refusal: nothing listens on port 1
    _forget_connections(celery_app)  # Celery's connection and producer pools are made again from the setting
    try:
        assert _post(early).status_code == 503
    finally:
        celery_app.conf.update(broker_url=good)
        _forget_connections(celery_app)

    setup.front.down = True  # Stripe cannot be read: the task retries, nothing is recorded
    assert _post(early).status_code == 202
    worker.wait_for_log("Retry in 5s")
    assert not _applied(setup, early["id"])
    setup.front.down = False
    wait_for(lambda: _applied(setup, early["id"]), "the refund applied after the retry", worker.output)

    succeeded = event("payment_intent.succeeded", setup.intent, account=TRUST)
    for body in (succeeded, succeeded, early):  # the late success and Stripe's retries: nothing twice
        assert _post(body).status_code == 202
    wait_for(lambda: _applied(setup, succeeded["id"]), "the late success recorded", worker.output)
    worker.wait_for_log("'duplicate'")
    with setup.tenant:
        payment = OnlinePayment.objects.get(pk=setup.payment.pk)
        assert (payment.status, payment.refunded_minor) == ("succeeded", 100_00)
        client_trust = account_for(Account.Kind.CLIENT_TRUST, client=payment.client, matter=payment.matter)
        assert balance(client_trust) == Money(150_00)
        assert balance(account_for(Account.Kind.TRUST_BANK)) == Money(150_00)
        assert StripeEvent.objects.count() == 2
    reads = setup.front.made("GET", f"/v1/payment_intents/{setup.payment.payment_intent_id}")
    assert {r.stripe_account for r in reads} == {TRUST}


def _forget_connections(app: Any) -> None:
    app._pool = None
    app.amqp._producer_pool = None
