"""Trust requests, approvals and invoice issues at the same moment: none deadlocks, none answers 500 (issue 18 item 2).

Committed data in a firm of the test's own (removed afterwards), each
operation on its own thread and database connection, all released together by
a barrier: only that shows whether the services take their locks in one order
(billing/locks.py). Issuing an invoice applies the client's trust funds, so it
draws on the same client-matter trust accounts as the disbursements.
Every operation must succeed or be refused cleanly (not enough cleared funds);
afterwards the books balance, verify, and no client's trust is negative.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.test import Client
from django_tenants.utils import schema_context

from billing.fees.models import FeeTemplate
from billing.invoices.models import Invoice
from billing.invoices.services import invoice_add_fee, invoice_create, invoice_issue
from billing.ledger.accounts import account_for
from billing.ledger.models import Account
from billing.ledger.selectors import line_balance, unbalanced_entries
from billing.ledger.verify import ledger_verify
from billing.money import Money
from billing.trust.models import TrustRequest
from billing.trust.requests import trust_disbursement_request, trust_request_approve
from billing.trust.services import trust_deposit
from core.matters import matter_create
from core.models import Matter, User
from core.roles import Role
from core.services import user_create
from tenants.models import Tenant
from tests.support.firms import FirmSpec, committed_firm

SLUG = "moneyrush"
MATTERS = 3
OPERATIONS = 50  # in the services
API_CALLS = 30
RETAINER = 600_00
EACH = 40_00


@pytest.fixture
def rush(django_db_setup: object, django_db_blocker: Any) -> Iterator[Tenant]:
    with committed_firm(FirmSpec(SLUG, "Money Rush LLP", "eu-central-1", "a@mrush.test"), django_db_blocker) as firm:
        yield firm


class Books:
    """People, funded matters, drafts to issue and requests to approve, all committed."""

    def __init__(self, tenant: Tenant, *, drafts: int, pending: int) -> None:
        with tenant:
            self.admin = User.objects.get(email="a@mrush.test")
            self.clerk = user_create(email="clerk@mrush.test", role=Role.BILLING_CLERK)
            self.partner = user_create(email="partner@mrush.test", role=Role.PARTNER)
            self.matters: list[Matter] = []
            for n in range(MATTERS):
                client = user_create(email=f"client{n}@mrush.test", role=Role.CLIENT, full_name=f"Client {n}")
                matter = matter_create(
                    reference=f"MR-{n}", title="Rush", matter_type="I-130", client=client, by=self.admin
                )
                trust_deposit(client=client, matter=matter, amount=Money(RETAINER), method="cash", by=self.clerk)
                self.matters.append(matter)
            fee = FeeTemplate.objects.get(code="CONS-FLAT")
            self.drafts: list[Invoice] = []
            for n in range(drafts):
                invoice = invoice_create(matter=self.matters[n % MATTERS], by=self.clerk)
                invoice_add_fee(invoice=invoice, template=fee)
                self.drafts.append(invoice)
            self.pending: list[TrustRequest] = [
                trust_disbursement_request(
                    client=self.matters[n % MATTERS].client,
                    matter=self.matters[n % MATTERS],
                    amount=Money(EACH),
                    payee=f"payee {n}",
                    purpose="fee",
                    by=self.clerk,
                )
                for n in range(pending)
            ]


def _run_together(tasks: list[Callable[[], str]]) -> tuple[list[str], list[BaseException]]:
    barrier = threading.Barrier(len(tasks))
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def run(task: Callable[[], str]) -> None:
        try:
            with schema_context(SLUG):
                barrier.wait()
                outcomes.append(task())
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(task,)) for task in tasks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    return outcomes, errors


def _check_books(tenant: Tenant, books: Books) -> None:
    with tenant:
        assert unbalanced_entries() == []
        for matter in books.matters:
            assert line_balance(account_for(Account.Kind.CLIENT_TRUST, matter=matter)).minor >= 0
        assert line_balance(account_for(Account.Kind.TRUST_BANK)).minor >= 0
        report = ledger_verify(tenant=tenant)
        assert report.ok, report.problems[:3]


def test_requests_approvals_and_invoice_issues_at_once_all_succeed_or_are_refused_cleanly(rush: Tenant) -> None:
    books = Books(rush, drafts=17, pending=17)

    def ask(n: int) -> Callable[[], str]:
        def task() -> str:
            matter = Matter.objects.select_related("client").get(pk=books.matters[n % MATTERS].pk)
            try:
                trust_disbursement_request(
                    client=matter.client,
                    matter=matter,
                    amount=Money(EACH),
                    payee="USCIS",
                    purpose="fee",
                    by=books.clerk,
                )
            except ValidationError:
                return "refused"
            return "asked"

        return task

    def approve(request: TrustRequest, by: User) -> Callable[[], str]:
        def task() -> str:
            try:
                trust_request_approve(request=request, by=by)
            except ValidationError:
                return "refused"
            return "approved"

        return task

    def issue(invoice: Invoice) -> Callable[[], str]:
        def task() -> str:
            invoice_issue(invoice=invoice, by=books.partner)
            return "issued"

        return task

    tasks: list[Callable[[], str]] = [ask(n) for n in range(OPERATIONS - 34)]
    tasks += [approve(request, books.partner if n % 2 else books.admin) for n, request in enumerate(books.pending)]
    tasks += [issue(invoice) for invoice in books.drafts]
    assert len(tasks) == OPERATIONS

    outcomes, errors = _run_together(tasks)

    assert not errors, errors[:3]
    assert len(outcomes) == OPERATIONS
    assert outcomes.count("issued") == 17
    assert outcomes.count("approved") + outcomes.count("refused") + outcomes.count("asked") == 33
    _check_books(rush, books)
    with rush:
        assert Invoice.objects.filter(status=Invoice.Status.DRAFT).count() == 0


def test_the_same_mix_through_the_api_never_answers_500(rush: Tenant) -> None:
    books = Books(rush, drafts=10, pending=10)
    clients: dict[int, Client] = {}
    with rush:
        for user in (books.clerk, books.partner, books.admin):
            clients[user.pk] = Client(HTTP_HOST=f"{SLUG}.localhost", raise_request_exception=False)
            clients[user.pk].force_login(user)
    host = {"content_type": "application/json"}

    def call(user: User, path: str, body: dict[str, object]) -> Callable[[], str]:
        def task() -> str:
            # Each thread its own client (the session cookie copied): Client objects are not thread-safe.
            client = Client(HTTP_HOST=f"{SLUG}.localhost", raise_request_exception=False)
            client.cookies = clients[user.pk].cookies
            return str(client.post(path, body, **host).status_code)  # type: ignore[arg-type]

        return task

    tasks = [
        call(
            books.clerk,
            "/api/v1/ledger/trust/requests",
            {"kind": "disbursement", "matter": books.matters[n % MATTERS].pk, "amount_minor": EACH, "purpose": "fee"},
        )
        for n in range(API_CALLS - 20)
    ]
    tasks += [
        call(books.partner if n % 2 else books.admin, "/api/v1/ledger/trust/approvals", {"request": request.pk})
        for n, request in enumerate(books.pending)
    ]
    tasks += [call(books.partner, f"/api/v1/billing/invoices/{invoice.pk}/issue", {}) for invoice in books.drafts]

    statuses, errors = _run_together(tasks)

    assert not errors, errors[:3]
    assert len(statuses) == API_CALLS
    assert "500" not in statuses, statuses
    assert set(statuses) <= {"200", "201", "400"}, statuses
    assert statuses.count("200") >= 10  # every invoice issue at least
    _check_books(rush, books)


def _raise_sqlstate(code: str) -> None:
    """Have PostgreSQL itself fail the statement with ``code`` (what a real deadlock or serialization failure sends)."""
    with connection.cursor() as cursor:
        cursor.execute(f"DO $$ BEGIN RAISE EXCEPTION 'simulated' USING ERRCODE = '{code}'; END $$")


def test_a_deadlock_is_retried_and_a_persistent_one_is_a_clean_refusal(
    django_db_setup: dict[str, Any], django_db_blocker: Any
) -> None:
    from django.db import OperationalError

    from billing.locks import ATTEMPTS, MoneyBusy, money_transaction

    attempts: list[int] = []

    @money_transaction
    def flaky(failures: int, code: str) -> str:
        attempts.append(1)
        if len(attempts) <= failures:
            _raise_sqlstate(code)
        return "done"

    with django_db_blocker.unblock(), django_db_setup["acme"].tenant:
        assert flaky(2, "40P01") == "done"
        assert len(attempts) == 3
        attempts.clear()
        assert flaky(1, "40001") == "done"
        attempts.clear()
        with pytest.raises(MoneyBusy):
            flaky(ATTEMPTS, "40P01")
        assert len(attempts) == ATTEMPTS
        attempts.clear()
        with pytest.raises(OperationalError):
            flaky(1, "57014")  # query_canceled: not something a retry fixes
        assert len(attempts) == 1
