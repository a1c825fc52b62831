"""Scheduled charging of payment plans. Thin: beat's task fans out one message per active firm; each firm
charges its due installments (``billing.stripe.plans.installments_charge_due``)."""

from __future__ import annotations

from core.celery import PorticoTask, app, send_to_every_active_firm


@app.task(tenant_required=False)
def charge_installments_in_every_firm() -> int:
    """Scheduled (public schema): ask every active firm to charge its due installments; returns how many firms."""
    return send_to_every_active_firm(charge_due_installments)


@app.task(bind=True, max_retries=3, default_retry_delay=300)
def charge_due_installments(self: PorticoTask) -> dict[str, int]:
    """In one firm: charge every installment that is due (a run twice at once charges each once)."""
    from django.db import DatabaseError

    from billing.stripe.plans import installments_charge_due

    try:
        return installments_charge_due()
    except DatabaseError as exc:
        raise self.retry(exc=exc) from exc
