"""Invoices drafted without anyone asking: on a completed matter stage, and on a recurring plan."""

from __future__ import annotations

from datetime import date

import pytest

from billing.fees.services import time_entry_record
from billing.invoices.automatic import recurring_invoices_draft
from billing.invoices.models import Invoice, RecurringPlan
from billing.invoices.tasks import draft_recurring_invoices, draft_recurring_invoices_in_every_firm
from core.signals import matter_stage_completed
from tests.support.billing import template
from tests.support.cast import Cast
from tests.support.firms import Firm


def test_completing_the_filed_stage_drafts_an_invoice_queued_for_partner_review(books: Cast) -> None:
    matter_stage_completed.send(sender=None, matter=books.m1, stage="filed")

    invoice = Invoice.objects.get(matter=books.m1)
    assert invoice.status == Invoice.Status.DRAFT
    assert invoice.needs_review
    assert invoice.origin == Invoice.Origin.STAGE
    assert sorted(invoice.lines.values_list("code", flat=True)) == ["PET-FLAT", "USCIS-FEE"]
    assert invoice.number is None


def test_a_stage_completed_twice_drafts_once_and_a_stage_with_no_fee_drafts_nothing(books: Cast) -> None:
    matter_stage_completed.send(sender=None, matter=books.m1, stage="filed")
    matter_stage_completed.send(sender=None, matter=books.m1, stage="filed")
    matter_stage_completed.send(sender=None, matter=books.m1, stage="intake")

    assert Invoice.objects.filter(matter=books.m1).count() == 1


def test_the_partner_review_queue_lists_automatic_drafts(books: Cast) -> None:
    matter_stage_completed.send(sender=None, matter=books.m1, stage="filed")
    paula = books.firm.client(books.paula)

    page = paula.get("/staff/billing/invoices/?review=1")

    assert page.status_code == 200
    assert b"to review" in page.content
    assert b"1 draft waits for review" in page.content


def test_a_due_recurring_plan_drafts_its_fee_and_unbilled_time_then_moves_a_month_on(books: Cast) -> None:
    plan = RecurringPlan.objects.create(matter=books.m2, fee_template=template("CONS-FLAT"), next_on=date(2026, 1, 31))
    time_entry_record(
        matter=books.m2,
        timekeeper=books.arthur,
        worked_on=date(2026, 1, 20),
        minutes=30,
        description="Call with client",
        template=template("CONS-HOUR"),
        by=books.arthur,
    )

    [invoice] = recurring_invoices_draft(as_of=date(2026, 2, 1))

    assert invoice.origin == Invoice.Origin.RECURRING
    assert invoice.needs_review
    assert invoice.total_minor == 150_00 + 125_00
    plan.refresh_from_db()
    assert plan.next_on == date(2026, 2, 28)
    assert recurring_invoices_draft(as_of=date(2026, 2, 1)) == []  # not due again until the 28th


def test_the_scheduled_fan_out_drafts_recurring_invoices_inside_each_active_firm(
    books: Cast, firm_b: Firm, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.conf import settings

    from tenants.db import current_schema
    from tenants.models import Tenant

    sent_from: list[str] = []
    monkeypatch.setattr(draft_recurring_invoices, "delay", lambda: sent_from.append(current_schema()))
    Tenant.objects.filter(pk=firm_b.tenant.pk).update(status=Tenant.Status.SUSPENDED)

    draft_recurring_invoices_in_every_firm()

    assert "acme" in sent_from
    assert "globex" not in sent_from
    assert {"public", "portico_template"}.isdisjoint(sent_from)
    entry = settings.CELERY_BEAT_SCHEDULE["draft-recurring-invoices"]
    assert entry["task"] == draft_recurring_invoices_in_every_firm.name


def test_the_firm_level_task_drafts_what_is_due(books: Cast) -> None:
    RecurringPlan.objects.create(matter=books.m2, fee_template=template("CONS-FLAT"), next_on=date(2020, 1, 1))

    assert draft_recurring_invoices.apply().get() == 1
    assert Invoice.objects.filter(matter=books.m2, origin=Invoice.Origin.RECURRING).count() == 1


def test_moving_a_matter_past_its_filed_stage_drafts_the_filing_invoice(books: Cast) -> None:
    from core.stages import matter_advance_stage, matter_stages

    filed = next(stage for stage in matter_stages(books.m1) if stage.code == "filed")
    matter_advance_stage(matter=books.m1, by=books.arthur, to=filed)
    assert not Invoice.objects.filter(matter=books.m1).exists()

    matter_advance_stage(matter=books.m1, by=books.arthur)  # filed is completed; the matter moves on

    invoice = Invoice.objects.get(matter=books.m1)
    assert invoice.origin_detail == "filed"
    assert invoice.needs_review
    assert invoice.total_minor == 2_500_00 + 675_00
