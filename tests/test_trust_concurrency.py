"""50 disbursements approved at the same moment, each on its own connection, never overdraw a client's trust.

Committed data in a firm of the test's own (removed afterwards), as in
test_audit_concurrency: only committed transactions on separate connections
show whether the row lock on the client-matter trust account really serialises
the outflows, and commits are also when the database's deferred balance check
runs on every entry.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection, connections
from django_tenants.utils import schema_context

from billing.ledger.accounts import account_for
from billing.ledger.models import Account, JournalEntry
from billing.ledger.selectors import balance, unbalanced_entries
from billing.money import Money
from billing.trust.models import TrustRequest
from billing.trust.requests import trust_disbursement_request, trust_request_approve
from billing.trust.services import InsufficientTrustFunds, trust_deposit
from core.matters import matter_create
from core.models import User
from core.roles import Role
from core.services import user_create
from kms import signing
from tenants.db import tenant_connection
from tenants.models import Tenant

SLUG = "trustrush"
REQUESTS = 50
EACH = 30_00
RETAINER = 1000_00  # covers 33 of the 50 payments


def _remove(slug: str) -> None:
    tenant_connection().set_schema_to_public()
    Tenant.objects.filter(slug=slug).delete()
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{slug}" CASCADE')


@pytest.fixture
def rush_firm(django_db_setup: object, django_db_blocker: Any) -> Iterator[Tenant]:
    from tenants.services import tenant_create

    with django_db_blocker.unblock():
        _remove(SLUG)
        signing.forget_cached_key()
        result = tenant_create(slug=SLUG, name="Trust Rush LLP", region="eu-central-1", admin_email="a@rush.test")
        try:
            yield result.tenant
        finally:
            signing.forget_cached_key()
            _remove(SLUG)


def test_fifty_simultaneous_disbursements_against_one_client_never_overdraw(rush_firm: Tenant) -> None:
    with rush_firm:
        admin = User.objects.get(email="a@rush.test")
        clerk = user_create(email="clerk@rush.test", role=Role.BILLING_CLERK)
        client = user_create(email="client@rush.test", role=Role.CLIENT)
        matter = matter_create(reference="R-1", title="Rush", matter_type="I-130", client=client, by=admin)
        trust_deposit(client=client, matter=matter, amount=Money(RETAINER), method="cash", by=clerk)
        requests = [
            trust_disbursement_request(
                client=client, matter=matter, amount=Money(EACH), payee=f"payee {n}", purpose="fee", by=clerk
            )
            for n in range(REQUESTS)
        ]
    barrier = threading.Barrier(REQUESTS)
    paid: list[int] = []
    refused: list[int] = []
    errors: list[BaseException] = []

    def approve(request: TrustRequest) -> None:
        try:
            with schema_context(SLUG):
                approver = User.objects.get(email="a@rush.test")
                barrier.wait()
                try:
                    trust_request_approve(request=request, by=approver)
                except InsufficientTrustFunds:
                    refused.append(request.pk)
                else:
                    paid.append(request.pk)
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=approve, args=(request,)) for request in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors[:3]

    with rush_firm:
        trust = account_for(Account.Kind.CLIENT_TRUST, client=client, matter=matter)
        assert len(paid) == RETAINER // EACH == 33
        assert len(refused) == REQUESTS - 33
        assert balance(trust) == Money(RETAINER - 33 * EACH) == Money(10_00)
        assert balance(account_for(Account.Kind.TRUST_BANK)) == Money(10_00)
        assert TrustRequest.objects.filter(status=TrustRequest.Status.POSTED).count() == 33
        assert JournalEntry.objects.filter(kind="trust.disbursement").count() == 33
        assert unbalanced_entries() == []
