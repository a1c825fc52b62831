"""Every audit entry carries the address and user agent of the request that caused it, billing included.

The origin is set for the request's duration by ``core.middleware.AuditOriginMiddleware``
(``core.audit.context``): billing services are never handed the request, yet
record where the action came from; a task records none; concurrent requests on
a thread pool never see each other's origin, nor one left over from before.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from django.utils import timezone
from pytest_django import Settings

from billing.invoices.models import RecurringPlan
from billing.invoices.tasks import draft_recurring_invoices
from core.audit.actions import AuditAction
from core.audit.context import NO_ORIGIN, Origin, current_origin
from core.audit.models import AuditEntry
from core.middleware import AuditOriginMiddleware
from tests.support.billing import template
from tests.support.cast import Cast

DEPOSIT = {"amount": "1,500.00", "method": "wire", "reference": "W-77"}
BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Safari/604.1"


def test_a_deposit_recorded_on_a_staff_page_records_the_address_behind_the_proxy_and_the_user_agent(
    books: Cast, settings: Settings
) -> None:
    settings.PORTICO_AUDIT_TRUSTED_PROXIES = ["10.0.0.0/8"]
    response = books.firm.client(books.bill).post(
        "/staff/billing/trust/deposit/",
        {"matter": books.m1.pk, **DEPOSIT},
        REMOTE_ADDR="10.0.0.5",  # the trusted proxy; the client's own claim (6.6.6.6) is not believed
        HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7",
        HTTP_USER_AGENT=BROWSER,
    )
    assert response.status_code == 302

    deposit = AuditEntry.objects.get(action=AuditAction.TRUST_DEPOSIT)
    posting = AuditEntry.objects.get(action=AuditAction.LEDGER_POST)  # written by the ledger, two services down
    for entry in (deposit, posting):
        assert (entry.actor_email, entry.ip, entry.user_agent) == (books.bill.email, "203.0.113.7", BROWSER)


def test_an_invoice_drafted_by_a_task_records_no_address_even_on_a_thread_that_served_a_request(
    books: Cast,
) -> None:
    served = books.firm.client(books.bill).post(
        "/staff/billing/trust/deposit/", {"matter": books.m1.pk, **DEPOSIT}, REMOTE_ADDR="203.0.113.7"
    )
    assert served.status_code == 302
    RecurringPlan.objects.create(matter=books.m2, fee_template=template("CONS-FLAT"), next_on=timezone.localdate())

    assert draft_recurring_invoices.apply().get() == 1  # the task itself, run here rather than in a worker

    drafted = AuditEntry.objects.get(action=AuditAction.INVOICE_DRAFT)
    assert (drafted.actor_id, drafted.ip, drafted.user_agent) == (None, "", "")


def test_concurrent_requests_each_see_their_own_origin_and_a_reused_thread_keeps_none() -> None:
    requests_at_once = 6
    barrier = threading.Barrier(requests_at_once)

    def view(request: HttpRequest) -> HttpResponse:
        barrier.wait(timeout=30)  # every request of the batch is inside the middleware at the same moment
        origin = current_origin()
        return HttpResponse(f"{origin.ip}|{origin.user_agent}")

    middleware = AuditOriginMiddleware(view)

    def serve(number: int) -> tuple[str, Origin]:
        request = RequestFactory().get("/", REMOTE_ADDR=f"198.51.100.{number}", HTTP_USER_AGENT=f"agent {number}")
        body = middleware(request).content.decode()
        return body, current_origin()  # on the same pool thread, after its response

    # Twice as many requests as threads: each thread serves two, one after the other.
    with ThreadPoolExecutor(max_workers=requests_at_once) as pool:
        served = list(pool.map(serve, range(1, 2 * requests_at_once + 1)))

    assert [body for body, _ in served] == [f"198.51.100.{n}|agent {n}" for n in range(1, 2 * requests_at_once + 1)]
    assert {after for _, after in served} == {NO_ORIGIN}


def test_a_view_that_raises_leaves_no_origin_behind() -> None:
    def failing(request: HttpRequest) -> HttpResponse:
        assert current_origin().ip == "192.0.2.1"
        raise RuntimeError("the view failed")

    request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.1")
    with pytest.raises(RuntimeError):
        AuditOriginMiddleware(failing)(request)
    assert current_origin() == NO_ORIGIN
