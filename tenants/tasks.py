"""Background jobs of the control plane's directory: each cell's worker delivers its own firms' entries."""

from __future__ import annotations

from django.conf import settings

from core.celery import app


@app.task(tenant_required=False)
def directory_deliver() -> dict[str, int]:
    """Scheduled every PORTICO_DIRECTORY_DELIVER_SECONDS: apply this cell's pending directory changes."""
    from tenants.directory import directory_deliver as deliver

    done = deliver(settings.PORTICO_CELL)
    return {"applied": done.applied, "skipped": done.skipped}
