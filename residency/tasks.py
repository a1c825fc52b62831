"""Scheduled storage housekeeping: the orphan sweep, fanned out to every active firm. Thin: the work is in services."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings

from core.celery import app


@app.task(tenant_required=False)
def sweep_orphans_in_every_firm() -> int:
    """Scheduled (public schema): send the per-firm sweep to every active firm; returns how many."""
    from tenants.models import Tenant

    firms = list(Tenant.objects.filter(kind=Tenant.Kind.FIRM, status=Tenant.Status.ACTIVE))
    for firm in firms:
        with firm:  # stamps the firm's schema on the message
            sweep_orphans.delay()
    return len(firms)


@app.task(bind=True, max_retries=3, default_retry_delay=300)
def sweep_orphans(self) -> int:  # type: ignore[no-untyped-def]
    """Delete the current firm's stored objects that have no row and are past the grace period."""
    from kms.keys import current_firm
    from residency.errors import ResidencyError
    from residency.orphans import orphans_sweep

    grace = timedelta(seconds=settings.PORTICO_ORPHAN_GRACE_SECONDS)
    try:
        return len(orphans_sweep(tenant=current_firm(), grace=grace).deleted)
    except ResidencyError as exc:  # storage unreachable: the next run, or a retry, picks it up
        raise self.retry(exc=exc) from exc
