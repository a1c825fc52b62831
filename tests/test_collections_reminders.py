"""Tiered reminders (issue 13 item 2): default tiers, each tier once per invoice, the skipping rules, the email.

The firing runs through the real services in firm A; the send is the real
``reminder_deliver`` with Django's in-memory mail backend (the test settings'),
so the test reads the email as the client would get it. The queuing on commit
is shown with pytest-django's ``django_capture_on_commit_callbacks``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from billing.collections.models import CollectionsSettings, ReminderSent, ReminderTier
from billing.collections.reminders import reminder_deliver, reminders_due, reminders_fire_due
from billing.collections.services import reminder_tier_save, reminders_pause, reminders_resume
from billing.invoices.models import Invoice
from billing.invoices.services import payment_record
from billing.stripe.models import ConnectedAccount, OnlinePayment
from billing.trust.models import BillingTask
from core.audit.models import AuditEntry
from core.models import Matter, User
from tests.support.billing import issued
from tests.support.cast import Cast


def _overdue(matter: Matter, by: User, *, days: int) -> Invoice:
    """An issued invoice whose due date was ``days`` days ago."""
    invoice = issued(matter, by, "PET-FLAT")
    invoice.due_on = timezone.localdate() - timedelta(days=days)
    invoice.save(update_fields=["due_on"])
    return invoice


def _fired(invoice: Invoice) -> list[str]:
    return list(
        ReminderSent.objects.filter(invoice=invoice).order_by("tier__offset_days").values_list("tier__name", flat=True)
    )


@pytest.fixture
def no_quiet_days(books: Cast) -> Cast:
    settings = CollectionsSettings.load()
    settings.quiet_days = 0
    settings.save()
    return books


def test_every_firm_starts_with_the_three_default_tiers(books: Cast) -> None:
    tiers = [
        (t.name, t.offset_days, t.email_client, t.create_task, t.escalate_to_partner)
        for t in ReminderTier.objects.all()
    ]
    assert tiers == [
        ("Friendly reminder", 7, True, False, False),
        ("Formal notice", 30, True, True, False),
        ("Partner escalation", 60, False, False, True),
    ]
    assert all(t.body_es and t.subject_es for t in ReminderTier.objects.all())


def test_each_tier_fires_once_when_its_day_has_come(
    no_quiet_days: Cast, django_capture_on_commit_callbacks: Any
) -> None:
    books = no_quiet_days
    not_yet = _overdue(books.m1, books.alice, days=6)
    friendly = _overdue(books.m2, books.alice, days=7)
    formal = _overdue(books.m3, books.alice, days=45)

    with django_capture_on_commit_callbacks() as queued:
        fired = reminders_fire_due()
    assert len(fired) == len(queued) == 3  # one send queued per reminder, on commit
    assert _fired(not_yet) == []
    assert _fired(friendly) == ["Friendly reminder"]
    assert _fired(formal) == ["Friendly reminder", "Formal notice"]
    task = BillingTask.objects.get(kind=BillingTask.Kind.COLLECTIONS)
    assert task.matter == books.m3
    assert formal.display_number in task.message

    assert reminders_fire_due() == []  # the second run finds nothing new
    assert reminders_due(today=timezone.localdate()) == []
    assert ReminderSent.objects.count() == 3


def test_a_new_tier_applies_to_invoices_already_open(no_quiet_days: Cast) -> None:
    books = no_quiet_days
    invoice = _overdue(books.m1, books.alice, days=3)
    reminders_fire_due()
    assert _fired(invoice) == []
    reminder_tier_save(
        tier=ReminderTier(name="Courtesy", offset_days=-5, subject_en="Due soon: {invoice}", body_en="Hello {client}"),
        by=books.alice,
    )
    reminders_fire_due()
    assert _fired(invoice) == ["Courtesy"]
    assert AuditEntry.objects.filter(action="collections.tier_saved").exists()


def test_paid_paused_and_disputed_invoices_get_no_reminder(no_quiet_days: Cast) -> None:
    books = no_quiet_days
    paid = _overdue(books.m1, books.alice, days=10)
    payment_record(invoice=paid, method="check", amount=paid.total, by=books.bill)
    paused = _overdue(books.m2, books.alice, days=10)
    reminders_pause(client=books.dan, reason="agreed to pay next week", by=books.bill)
    disputed = _overdue(books.lucia_matter, books.alice, days=10)
    account = ConnectedAccount.objects.create(
        kind="operating", stripe_account_id="acct_x", idempotency_key="k-op", created_by=books.alice
    )
    OnlinePayment.objects.create(
        purpose="invoice",
        account=account,
        account_kind="operating",
        invoice=disputed,
        client=books.lucia,
        matter=books.lucia_matter,
        amount_minor=100_00,
        currency="USD",
        idempotency_key="k-pay",
        status=OnlinePayment.Status.DISPUTED,
    )
    fine = _overdue(books.dora_matter, books.alice, days=10)

    reminders_fire_due()
    assert (_fired(paid), _fired(paused), _fired(disputed), _fired(fine)) == ([], [], [], ["Friendly reminder"])
    assert AuditEntry.objects.filter(action="collections.reminders_paused", target_id=str(books.dan.pk)).exists()

    reminders_resume(client=books.dan, by=books.bill)
    reminders_fire_due()
    assert _fired(paused) == ["Friendly reminder"]
    assert AuditEntry.objects.filter(action="collections.reminders_resumed").exists()


def test_a_reminder_within_the_quiet_days_holds_the_next_back(books: Cast) -> None:
    settings = CollectionsSettings.load()
    settings.quiet_days = 5
    settings.save()
    invoice = _overdue(books.m1, books.alice, days=40)  # friendly and formal are both due

    reminders_fire_due()
    assert _fired(invoice) == ["Friendly reminder"]  # the formal notice waits for the quiet days to pass
    ReminderSent.objects.filter(invoice=invoice).update(fired_at=timezone.now() - timedelta(days=6))
    reminders_fire_due()
    assert _fired(invoice) == ["Friendly reminder", "Formal notice"]


def test_an_invoice_paid_after_the_reminder_fired_is_not_emailed(no_quiet_days: Cast) -> None:
    books = no_quiet_days
    invoice = _overdue(books.m1, books.alice, days=8)
    [sent] = reminders_fire_due()
    payment_record(invoice=invoice, method="wire", amount=invoice.total, by=books.bill)

    assert reminder_deliver(sent=sent).status == ReminderSent.Status.SKIPPED
    assert mail.outbox == []


def test_a_spanish_clients_reminder_is_in_spanish_with_the_invoice_and_absolute_links(no_quiet_days: Cast) -> None:
    books = no_quiet_days
    ConnectedAccount.objects.create(
        kind="operating",
        stripe_account_id="acct_pay",
        idempotency_key="k-op2",
        created_by=books.alice,
        status=ConnectedAccount.Status.ENABLED,
    )
    invoice = _overdue(books.lucia_matter, books.alice, days=7)
    [sent] = reminders_fire_due()

    delivered = reminder_deliver(sent=sent)
    assert delivered.status == ReminderSent.Status.SENT
    assert delivered.sent_at is not None
    assert delivered.recipients == "the client"  # not her address: the row outlives an erasure of her identity
    [message] = mail.outbox
    assert message.to == ["lucia@example.test"]
    assert message.subject == f"Recordatorio: la factura {invoice.display_number} está pendiente"
    assert "Estimado/a Lucía Gómez" in message.body
    assert "El saldo pendiente es" in message.body
    assert f"Vea la factura: http://acme.localhost:8000/portal/billing/invoices/{invoice.pk}/pdf/" in message.body
    assert "Pague en línea: http://acme.localhost:8000/portal/billing/" in message.body
    [(filename, content, mimetype)] = message.attachments
    assert filename == f"{invoice.display_number}.pdf"
    assert mimetype == "application/pdf"
    assert content[:5] == b"%PDF-"

    assert reminder_deliver(sent=sent).status == ReminderSent.Status.SENT
    assert len(mail.outbox) == 1  # delivered once, even when the task runs again


def test_an_english_clients_reminder_is_in_english_without_a_pay_link_when_cards_are_off(no_quiet_days: Cast) -> None:
    books = no_quiet_days
    invoice = _overdue(books.m1, books.alice, days=7)
    [sent] = reminders_fire_due()
    reminder_deliver(sent=sent)

    [message] = mail.outbox
    assert message.subject == f"Reminder: invoice {invoice.display_number} is due"
    assert "Dear Carol" in message.body
    assert f"See the invoice: http://acme.localhost:8000/portal/billing/invoices/{invoice.pk}/pdf/" in message.body
    assert "Pay online" not in message.body


def test_the_partner_escalation_goes_to_the_partners(no_quiet_days: Cast) -> None:
    books = no_quiet_days
    ReminderTier.objects.exclude(name="Partner escalation").update(active=False)
    invoice = _overdue(books.m2, books.alice, days=61)
    [sent] = reminders_fire_due()
    reminder_deliver(sent=sent)

    assert [m.to for m in mail.outbox] == [["paula@acme.test"]]
    assert ReminderSent.objects.get(pk=sent.pk).recipients == "1 partner"
    assert invoice.display_number in mail.outbox[0].subject
    assert BillingTask.objects.filter(kind=BillingTask.Kind.PARTNER_ESCALATION, matter=books.m2).exists()


def test_placeholders_are_filled_and_nothing_else_is_evaluated(no_quiet_days: Cast) -> None:
    books = no_quiet_days
    ReminderTier.objects.update(active=False)
    reminder_tier_save(
        tier=ReminderTier(
            name="Odd", offset_days=0, subject_en="{invoice.__class__} {nope}", body_en="{client} owes {balance}"
        ),
        by=books.alice,
    )
    _overdue(books.m1, books.alice, days=0)
    [sent] = reminders_fire_due()
    reminder_deliver(sent=sent)

    [message] = mail.outbox
    assert message.subject == "{invoice.__class__} {nope}"
    assert message.body.startswith("Carol owes $2,500.00")
