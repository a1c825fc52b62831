"""A Hypothesis state machine over the whole of billing's money flows, with the ledger's invariants after every step.

Steps (in any order, any amounts): retainers deposited to trust (cleared or
not), checks clearing, invoices issued (which applies cleared trust funds by
firm policy), trust applied to open invoices, disbursements and refunds from
trust through their approvals, credit notes and write-offs through theirs. All
through the real services (6b's invoices, credit notes and write-offs; 6a's
trust and ledger).

After every step:

* every journal entry balances — checked by the database's own deferred trigger
  (``SET CONSTRAINTS ALL IMMEDIATE`` fires it inside the test's transaction) and by
  a selector;
* no client-matter trust balance is below zero, and each equals the model's;
* trust bank = trust book = sum of client ledgers, and the three-way report balances.

Each example runs in a savepoint that is rolled back, so examples are independent.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from billing.credit_notes.services import credit_note_decide, credit_note_request
from billing.fees.models import FeeTemplate
from billing.invoices.models import Invoice
from billing.invoices.services import invoice_add_fee, invoice_create, invoice_issue
from billing.invoices.trust import invoice_apply_trust
from billing.invoices.write_offs import write_off_decide, write_off_request
from billing.ledger.accounts import account_for
from billing.ledger.models import Account
from billing.ledger.selectors import balance, balances_by_account, kind_total, unbalanced_entries
from billing.money import Money
from billing.reconciliation.selectors import three_way
from billing.trust.models import TrustDeposit, TrustRequest
from billing.trust.requests import trust_disbursement_request, trust_refund_request, trust_request_approve
from billing.trust.services import InsufficientTrustFunds, trust_deposit, trust_deposit_clear
from core.models import Matter, User
from core.roles import Role
from core.services import user_create
from tests.support.cast import Cast

Kind = Account.Kind
AMOUNTS = st.integers(min_value=1, max_value=3_000_00)


def billing_machine(books: Cast, second_partner: User) -> type[RuleBasedStateMachine]:
    pairs = [(books.carol, books.m1), (books.dan, books.m2), (books.dan, books.m3)]
    fee = FeeTemplate.objects.filter(kind=FeeTemplate.Kind.FLAT, currency="USD").order_by("code").first()
    assert fee is not None, "fee templates are seeded in every firm"
    flat_fee: FeeTemplate = fee

    class BillingMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.savepoint = transaction.atomic()
            self.savepoint.__enter__()
            # What the model expects each client-matter's trust to hold, and how much of it is uncleared.
            self.held = {matter.pk: 0 for _, matter in pairs}
            self.uncleared: dict[int, list[TrustDeposit]] = {matter.pk: [] for _, matter in pairs}

        def teardown(self) -> None:
            transaction.set_rollback(True)
            self.savepoint.__exit__(None, None, None)

        def _cleared(self, matter: Matter) -> int:
            return self.held[matter.pk] - sum(d.amount_minor for d in self.uncleared[matter.pk])

        def _trust_payments(self, matter: Matter) -> int:
            from billing.invoices.models import Payment

            payments = Payment.objects.filter(invoice__matter=matter, method=Payment.Method.TRUST)
            return sum(payments.values_list("amount_minor", flat=True))

        def _track_applications(self, matter: Matter, before: int) -> None:
            self.held[matter.pk] -= self._trust_payments(matter) - before

        @rule(pair=st.sampled_from(range(3)), amount=AMOUNTS, cleared=st.booleans())
        def deposit(self, pair: int, amount: int, cleared: bool) -> None:
            client, matter = pairs[pair]
            deposit = trust_deposit(
                client=client,
                matter=matter,
                amount=Money(amount),
                method="wire" if cleared else "check",
                by=books.bill,
                cleared_on=timezone.localdate() if cleared else None,
            )
            self.held[matter.pk] += amount
            if not cleared:
                self.uncleared[matter.pk].append(deposit)

        @rule(pair=st.sampled_from(range(3)))
        def checks_clear(self, pair: int) -> None:
            matter = pairs[pair][1]
            for deposit in self.uncleared[matter.pk]:
                trust_deposit_clear(deposit=deposit, cleared_on=timezone.localdate(), by=books.bill)
            self.uncleared[matter.pk] = []

        @rule(pair=st.sampled_from(range(3)), percent=st.integers(min_value=1, max_value=130), refund=st.booleans())
        def pay_out_of_trust(self, pair: int, percent: int, refund: bool) -> None:
            """Pay a share of the cleared funds: up to 130 %, so both paid and refused payments happen."""
            client, matter = pairs[pair]
            amount = max(1, self._cleared(matter) * percent // 100)
            ask = trust_refund_request if refund else trust_disbursement_request
            extra = {} if refund else {"payee": "USCIS"}
            if amount > self._cleared(matter):
                try:
                    ask(client=client, matter=matter, amount=Money(amount), purpose="p", by=books.bill, **extra)
                except InsufficientTrustFunds:
                    return
                raise AssertionError("a payment above the cleared funds was accepted")
            request = ask(client=client, matter=matter, amount=Money(amount), purpose="p", by=books.bill, **extra)
            trust_request_approve(request=request, by=books.paula)
            if request.approvals_required == 2:
                request.refresh_from_db()
                assert request.status == TrustRequest.Status.PENDING
                trust_request_approve(request=request, by=second_partner)
            request.refresh_from_db()
            assert request.status == TrustRequest.Status.POSTED
            self.held[matter.pk] -= amount

        @rule(pair=st.sampled_from(range(3)), quantity=st.integers(min_value=1, max_value=3))
        def issue_invoice(self, pair: int, quantity: int) -> None:
            matter = pairs[pair][1]
            before = self._trust_payments(matter)
            invoice = invoice_create(matter=matter, by=books.alice, currency="USD")
            invoice_add_fee(invoice=invoice, template=flat_fee, quantity=quantity)
            invoice_issue(invoice=invoice, by=books.alice)
            self._track_applications(matter, before)

        @precondition(lambda self: Invoice.objects.filter(status__in=["issued", "partially_paid"]).exists())
        @rule(data=st.data())
        def apply_trust(self, data: st.DataObject) -> None:
            invoice = data.draw(st.sampled_from(list(Invoice.objects.filter(status__in=["issued", "partially_paid"]))))
            before = self._trust_payments(invoice.matter)
            invoice_apply_trust(invoice=invoice, by=books.bill)
            self._track_applications(invoice.matter, before)

        @precondition(lambda self: Invoice.objects.filter(status__in=["issued", "partially_paid"]).exists())
        @rule(data=st.data(), write_off=st.booleans())
        def adjust(self, data: st.DataObject, write_off: bool) -> None:
            invoice = data.draw(st.sampled_from(list(Invoice.objects.filter(status__in=["issued", "partially_paid"]))))
            due = invoice.balance_due_minor
            if due <= 0:
                return
            amount = Money(data.draw(st.integers(min_value=1, max_value=due)), invoice.currency)
            try:
                if write_off:
                    request = write_off_request(invoice=invoice, amount=amount, reason="uncollectable", by=books.bill)
                    write_off_decide(write_off=request, approve=True, by=books.paula)
                else:
                    note = credit_note_request(invoice=invoice, reason="goodwill", amount=amount, by=books.bill)
                    credit_note_decide(note=note, approve=True, by=books.paula)
            except ValidationError:
                pass  # beyond what this invoice allows now: refused, and nothing posted (checked below)

        @invariant()
        def every_entry_balances(self) -> None:
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the database's own check runs now
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            assert unbalanced_entries() == []

        @invariant()
        def no_client_trust_balance_is_negative_and_each_is_the_models(self) -> None:
            clients = Account.objects.filter(kind=Kind.CLIENT_TRUST)
            assert all(amount.minor >= 0 for amount in balances_by_account(accounts=clients).values())
            for client, matter in pairs:
                account = account_for(Kind.CLIENT_TRUST, client=client, matter=matter, currency="USD")
                assert balance(account) == Money(self.held[matter.pk])

        @invariant()
        def bank_equals_book_equals_client_ledgers(self) -> None:
            bank = balance(account_for(Kind.TRUST_BANK, currency="USD")).minor
            assert bank == kind_total(Kind.CLIENT_TRUST, currency="USD").minor == sum(self.held.values())
            report = three_way(period_end=timezone.localdate(), currency="USD", with_clients=False)
            assert report.adjusted_bank.minor == report.book_balance.minor == report.client_ledgers.minor == bank

    return BillingMachine


def test_billing_keeps_the_ledger_balanced_and_trust_never_negative(books: Cast) -> None:
    from billing.trust.models import TrustSettings

    TrustSettings.objects.update_or_create(id=1, defaults={"two_approver_threshold_minor": 1_000_00})
    second_partner = user_create(email="pat@acme.test", role=Role.PARTNER, full_name="Pat")
    machine = billing_machine(books, second_partner)

    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=25,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            database=None,
        ),
    )
