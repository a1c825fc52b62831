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
from django.utils import timezone

from billing.collections.models import CollectionsSettings
from billing.fees.models import FeeTemplate
from billing.invoices.services import PAYMENT_DUE_DAYS, invoice_add_fee, invoice_create, invoice_issue
from core.matters import matter_create
from core.models import User
from core.roles import Role
from core.services import user_create
from tenants.models import Tenant
from tests.support.firms import FirmSpec, committed_firm

SLUG = "reminding"
INVOICES = 6


@pytest.fixture
def reminding_firm(django_db_setup: object, django_db_blocker: Any) -> Iterator[Tenant]:
    with committed_firm(FirmSpec(SLUG, "Reminding LLP", "us-east-1", "r@reminding.test"), django_db_blocker) as firm:
        yield firm


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
