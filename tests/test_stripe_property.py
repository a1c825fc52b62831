"""Hypothesis over Stripe's events (issue 12): interleaved payments, partial payments, refunds and disputes,
delivered duplicated and out of order, keep the books right after every event.

Each example draws a few card payments for two clients (retainers into trust of
any amount, partial payments of an invoice on operating), what Stripe then does
with each (partial refunds, a dispute closed won, lost or still open, a fee),
and a delivery order: Stripe's events shuffled, some sent twice. Each event is
signed and posted to the real endpoint; its task runs eagerly (``stripe_front``).
After every delivery: every journal entry balances, no client trust balance is
negative, and each client's trust ledger equals their trust payments (those
seen so far) less refunds and disputes (not won) seen so far. After the last,
every payment holds what Stripe holds. The PaymentIntents are real ones in
localstripe (created, paid, re-read when a refund or dispute comes first); the
fees are built into the events (localstripe's are 0). The set-up (accounts,
the invoice's fee template) is shared across examples; each example runs in a
savepoint that is rolled back, so examples do not see each other's rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.ledger.accounts import account_for
from billing.ledger.models import Account
from billing.ledger.selectors import balance, balances_by_account, unbalanced_entries
from billing.money import Money
from billing.stripe.models import ConnectedAccount, OnlinePayment
from billing.stripe.services import retainer_request_create
from tests.support.billing import issued
from tests.support.cast import Cast
from tests.support.online_payments import online_payment_started
from tests.support.stripe import StripeFront, charge_refunded, dispute, event, with_fee
from tests.test_stripe_payments import connect_both, post_event

Kind = Account.Kind


@dataclass
class Plan:
    """One card payment and what Stripe does with it, in Stripe's order."""

    trust: bool
    client: int
    amount: int
    fee: int
    refunds: list[int]  # cumulative amount_refunded after each refund
    dispute: int  # 0: none
    outcome: str  # "", "won", "lost"


@dataclass
class Seen:
    """What the books should show of one payment, from the events delivered so far (the model)."""

    success: bool = False
    refunded: int = 0
    disputed: int = 0
    won: bool = False
    events: set[str] = field(default_factory=set)


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    trust = draw(st.booleans())
    amount = draw(st.integers(min_value=1_00, max_value=900_00))
    refunds = sorted(draw(st.lists(st.integers(min_value=1, max_value=amount), max_size=2, unique=True)))
    left = amount - (refunds[-1] if refunds else 0)
    dispute = draw(st.sampled_from([0, left])) if left else 0
    outcome = draw(st.sampled_from(["", "won", "lost"])) if dispute else ""
    fee = draw(st.sampled_from([0, 30 + amount * 29 // 1000]))
    return Plan(trust, draw(st.integers(0, 1)), amount, fee, refunds, dispute, outcome)


def _model_apply(seen: Seen, kind: str, body: dict[str, Any], plan: Plan) -> None:
    """The books' rule, written plainly: any event about the payment means Stripe holds its success."""
    seen.events.add(body["id"])
    seen.success = True
    obj = body["data"]["object"]
    if kind == "charge.refunded":
        out = 0 if seen.won else seen.disputed
        seen.refunded = max(seen.refunded, min(obj["amount_refunded"], plan.amount - out))
    elif kind.startswith("charge.dispute."):
        if not seen.disputed:
            seen.disputed = min(obj["amount"], plan.amount - seen.refunded)
        if kind == "charge.dispute.closed" and obj["status"] == "won" and seen.disputed:
            seen.won = True


@pytest.fixture
def shared(cast: Cast, stripe_front: StripeFront) -> dict[str, ConnectedAccount]:
    return connect_both(cast)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
@given(data=st.data(), drawn=st.lists(plans(), min_size=1, max_size=4))
def test_any_order_of_stripe_events_keeps_the_books_right(
    cast: Cast, stripe_front: StripeFront, shared: dict[str, ConnectedAccount], data: st.DataObject, drawn: list[Plan]
) -> None:
    _body(cast, stripe_front, shared, data, drawn)


def _body(cast: Cast, stripe_front: StripeFront, shared: Any, data: Any, drawn: list[Plan]) -> None:
    clients = [(cast.lucia, cast.lucia_matter), (cast.dora, cast.dora_matter)]
    with cast.firm.tenant, transaction.atomic():
        invoices = [issued(matter, cast.alice, "PET-FLAT") for _client, matter in clients]
        # Partial payments of an invoice: each at most what is left of it.
        due = {i: invoice.balance_due_minor for i, invoice in enumerate(invoices)}
        stream: list[tuple[int, str, dict[str, Any]]] = []
        payments: list[OnlinePayment] = []
        for number, plan in enumerate(drawn):
            client, matter = clients[plan.client]
            if plan.trust:
                retainer = retainer_request_create(matter=matter, amount=Money(plan.amount), purpose="x", by=cast.bill)
                payment = online_payment_started(
                    stripe_front, shared["trust"], client=client, amount=Money(plan.amount), retainer=retainer
                )
            else:
                plan.amount = min(plan.amount, due[plan.client])
                plan.refunds = [min(r, plan.amount) for r in plan.refunds]
                plan.dispute = min(plan.dispute, plan.amount - (plan.refunds[-1] if plan.refunds else 0))
                plan.outcome = plan.outcome if plan.dispute else ""
                if plan.amount <= 0:
                    continue
                due[plan.client] -= plan.amount
                payment = online_payment_started(
                    stripe_front, shared["operating"], client=client, amount=Money(plan.amount),
                    invoice=invoices[plan.client],
                )  # fmt: skip
            payments.append(payment)
            account = str(payment.account.stripe_account_id)
            intent = stripe_front.pay(str(payment.payment_intent_id))
            succeeded = with_fee(intent, fee=plan.fee) if plan.fee else intent
            stream.append(
                (number, "payment_intent.succeeded", event("payment_intent.succeeded", succeeded, account=account))
            )
            for total in plan.refunds:
                stream.append(
                    (
                        number,
                        "charge.refunded",
                        event("charge.refunded", charge_refunded(intent, amount_refunded=total), account=account),
                    )
                )
            if plan.dispute:
                opened = dispute(intent, amount=plan.dispute)
                stream.append(
                    (number, "charge.dispute.created", event("charge.dispute.created", opened, account=account))
                )
                if plan.outcome:
                    closed = {**opened, "status": plan.outcome}
                    stream.append(
                        (number, "charge.dispute.closed", event("charge.dispute.closed", closed, account=account))
                    )
        if not stream:
            transaction.set_rollback(True)
            return
        again = data.draw(st.lists(st.sampled_from(stream), max_size=len(stream)), label="duplicates")
        delivery = data.draw(st.permutations(stream + again), label="delivery")
        seen = {number: Seen() for number, _kind, _body in stream}
        kept = {number: plan for number, plan in enumerate(drawn)}
        for number, kind, body in delivery:
            assert post_event(body).outcome in ("applied", "duplicate", "ignored")
            if body["id"] not in seen[number].events:
                _model_apply(seen[number], kind, body, kept[number])
            with cast.firm.tenant:  # the request left the connection on the public schema
                _check(clients, drawn, seen)
        for payment, plan in zip(payments, [p for p in drawn if p.amount > 0], strict=True):
            with cast.firm.tenant:
                payment.refresh_from_db()
            assert payment.refunded_minor == (plan.refunds[-1] if plan.refunds else 0)  # what Stripe holds
            assert payment.disputed_minor == plan.dispute
            assert payment.dispute_outcome == plan.outcome
            assert payment.status != "started"
        transaction.set_rollback(True)


def _check(clients: list[Any], drawn: list[Plan], seen: dict[int, Seen]) -> None:
    assert unbalanced_entries() == []
    trust = Account.objects.filter(kind=Kind.CLIENT_TRUST)
    assert all(amount.minor >= 0 for amount in balances_by_account(accounts=trust).values())
    numbers = [n for n, p in enumerate(drawn) if p.amount > 0]
    for index, (client, matter) in enumerate(clients):
        expected = sum(
            plan.amount - s.refunded - (0 if s.won else s.disputed)
            for n in numbers
            if (plan := drawn[n]).trust and plan.client == index and (s := seen.get(n)) is not None and s.success
        )
        assert balance(account_for(Kind.CLIENT_TRUST, client=client, matter=matter)).minor == expected
