"""Scheduled collections work (thin): beat fans out one message per active firm; each reminder is its own task."""

from __future__ import annotations

from core.celery import PorticoTask, app, send_to_every_active_firm


@app.task(tenant_required=False)
def send_reminders_in_every_firm() -> int:
    """Scheduled (public schema): ask every active firm to fire its due reminder tiers; returns how many firms."""
    return send_to_every_active_firm(fire_due_reminders)


@app.task(bind=True, max_retries=3, default_retry_delay=60)
def fire_due_reminders(self: PorticoTask) -> int:
    """In one firm: fire every tier that is due (each fired reminder queues its own send); returns how many fired."""
    from django.db import DatabaseError

    from billing.collections.reminders import reminders_fire_due

    try:
        return len(reminders_fire_due())
    except DatabaseError as exc:
        raise self.retry(exc=exc) from exc


@app.task(bind=True, max_retries=5, default_retry_delay=120)
def send_reminder(self: PorticoTask, sent_id: int) -> str:
    """Send one fired reminder (a failure to reach the mail server is retried; a sent one is never sent again)."""
    from django.db import DatabaseError

    from billing.collections.models import ReminderSent
    from billing.collections.reminders import reminder_deliver

    sent = ReminderSent.objects.filter(pk=sent_id).first()
    if sent is None:
        return "missing"
    try:
        return reminder_deliver(sent=sent).status
    except (OSError, DatabaseError) as exc:  # smtplib's errors are OSErrors
        raise self.retry(exc=exc) from exc


@app.task(tenant_required=False)
def send_partner_reports_in_every_firm() -> int:
    """Scheduled hourly (public schema): ask every active firm to send its weekly partner report if it is due."""
    return send_to_every_active_firm(send_partner_reports)


@app.task(bind=True, max_retries=3, default_retry_delay=300)
def send_partner_reports(self: PorticoTask) -> int:
    """In one firm: the weekly report to each partner not yet sent it this week; returns how many were sent."""
    from django.db import DatabaseError

    from billing.collections.report import partner_reports_send

    try:
        return len(partner_reports_send())
    except (OSError, DatabaseError) as exc:  # a partner already sent to has its row: a retry skips them
        raise self.retry(exc=exc) from exc
