"""Twenty invoices issued at once are numbered 1..20, no gap or duplicate; a rolled-back issue gives its number back.

The issues are committed, each on its own database connection (nothing else
shows real concurrency), in a firm of the test's own that it removes again.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connections, transaction
from django_tenants.utils import schema_context

from billing.fees.models import FeeTemplate
from billing.invoices.models import Invoice
from billing.invoices.services import invoice_add_fee, invoice_create, invoice_issue
from core.matters import matter_create
from core.models import User
from core.roles import Role
from core.services import user_create
from tenants.models import Tenant
from tests.support.firms import FirmSpec, committed_firm

SLUG = "numbering"
ISSUERS = 20


class Abandoned(Exception):
    """Raised by the one issuer whose transaction rolls back after it took a number."""


@pytest.fixture
def busy_firm(django_db_setup: object, django_db_blocker: Any) -> Iterator[Tenant]:
    with committed_firm(FirmSpec(SLUG, "Numbering LLP", "us-east-1", "n@numbering.test"), django_db_blocker) as firm:
        yield firm


def _drafts(firm: Tenant, count: int) -> tuple[User, list[int]]:
    with firm:
        admin = User.objects.get(email="n@numbering.test")
        client = user_create(email="client@numbering.test", role=Role.CLIENT, full_name="Rosa Vega")
        matter = matter_create(reference="2026-0001", title="Vega I-130", matter_type="I-130", client=client, by=admin)
        fee = FeeTemplate.objects.get(code="CONS-FLAT")
        ids = []
        for _ in range(count):
            draft = invoice_create(matter=matter, by=admin)
            invoice_add_fee(invoice=draft, template=fee)
            ids.append(draft.pk)
    return admin, ids


def test_twenty_concurrent_issues_are_numbered_one_to_twenty_without_gaps(busy_firm: Tenant) -> None:
    admin, ids = _drafts(busy_firm, ISSUERS + 1)
    abandoned_id = ids[-1]
    barrier = threading.Barrier(len(ids))
    errors: list[BaseException] = []

    def issuer(invoice_id: int) -> None:
        try:
            with schema_context(SLUG):
                barrier.wait()
                with transaction.atomic():
                    issued = invoice_issue(invoice=Invoice.objects.get(pk=invoice_id), by=admin)
                    if invoice_id == abandoned_id:
                        raise Abandoned(issued.number)
        except Abandoned:
            pass
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=issuer, args=(invoice_id,)) for invoice_id in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors[:3]

    with busy_firm:
        numbers = sorted(number for number in Invoice.objects.values_list("number", flat=True) if number is not None)
        abandoned = Invoice.objects.get(pk=abandoned_id)
        next_one = invoice_issue(invoice=abandoned, by=admin)

    assert numbers == list(range(1, ISSUERS + 1))
    assert abandoned.status == Invoice.Status.DRAFT
    assert next_one.number == ISSUERS + 1  # the rolled-back number was handed out again, not skipped
