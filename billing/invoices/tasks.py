"""Scheduled invoice work. Thin: the beat task fans out one message per active firm."""

from __future__ import annotations

from core.celery import PorticoTask, app, send_to_every_active_firm


@app.task(tenant_required=False)
def draft_recurring_invoices_in_every_firm() -> int:
    """Scheduled (public schema): ask every active firm to draft its due recurring invoices; returns how many firms."""
    return send_to_every_active_firm(draft_recurring_invoices)


@app.task(bind=True, max_retries=3, default_retry_delay=60)
def draft_recurring_invoices(self: PorticoTask) -> int:
    from django.db import DatabaseError

    from billing.invoices.automatic import recurring_invoices_draft

    try:
        return len(recurring_invoices_draft())
    except DatabaseError as exc:
        raise self.retry(exc=exc) from exc
