"""A firm of the collections tests' own, committed (for concurrent runs and the real worker), removed after.

``reminding_firm`` onboards firm "reminding"; ``overdue_invoices(firm)`` commits a
client (in ``language``) with ``INVOICES`` invoices 40 days past due, on which the
default friendly and formal tiers are both due, and turns the quiet days off.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from billing.collections.models import CollectionsSettings
from billing.fees.models import FeeTemplate
from billing.invoices.services import PAYMENT_DUE_DAYS, invoice_add_fee, invoice_create, invoice_issue
from core.matters import matter_create
from core.models import User
from core.roles import Role
from core.services import user_create
from kms import signing
from tenants.db import tenant_connection
from tenants.models import Tenant

SLUG = "reminding"
INVOICES = 6


def _remove() -> None:
    tenant_connection().set_schema_to_public()
    Tenant.objects.filter(slug=SLUG).delete()
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{SLUG}" CASCADE')


@pytest.fixture
def reminding_firm(django_db_setup: object, django_db_blocker: Any) -> Iterator[Tenant]:
    from tenants.services import tenant_create

    with django_db_blocker.unblock():
        _remove()
        signing.forget_cached_key()
        result = tenant_create(slug=SLUG, name="Reminding LLP", region="us-east-1", admin_email="r@reminding.test")
        try:
            yield result.tenant
        finally:
            signing.forget_cached_key()
            _remove()


def overdue_invoices(firm: Tenant, *, language: str = "en") -> None:
    """Invoices 40 days past due (friendly and formal tiers both due), committed; no quiet days."""
    with firm:
        settings_row = CollectionsSettings.load()
        settings_row.quiet_days = 0
        settings_row.save()
        admin = User.objects.get(email="r@reminding.test")
        client = user_create(email="client@reminding.test", role=Role.CLIENT, full_name="Rosa Vega", language=language)
        matter = matter_create(reference="2026-0001", title="Vega I-130", matter_type="I-130", client=client, by=admin)
        issued_on = timezone.localdate() - timedelta(days=40 + PAYMENT_DUE_DAYS)
        for _ in range(INVOICES):
            draft = invoice_create(matter=matter, by=admin)
            invoice_add_fee(invoice=draft, template=FeeTemplate.objects.get(code="CONS-FLAT"))
            invoice_issue(invoice=draft, by=admin, issued_on=issued_on)
