"""Scheduled audit jobs: anchor every firm's chain head, apply retention.

The public-schema task fans out: it sends the firm task inside ``with tenant:``
so that tenant-schemas-celery stamps the firm into the message.
"""

from __future__ import annotations

from core.celery import PorticoTask, app
from tenants.models import AuditAnchor, Tenant


def maintained_firms() -> list[Tenant]:
    """Firms whose logs are anchored and pruned: all but those being offboarded."""
    return list(Tenant.objects.filter(kind=Tenant.Kind.FIRM).exclude(status=Tenant.Status.OFFBOARDING))


@app.task(tenant_required=False)
def anchor_all_firms() -> int:
    firms = maintained_firms()
    for firm in firms:
        with firm:
            anchor_firm.delay()
    return len(firms)


@app.task(bind=True, max_retries=3, default_retry_delay=60)
def anchor_firm(self: PorticoTask) -> int | None:
    from core.audit.anchors import audit_anchor

    try:
        anchor = audit_anchor(kind=AuditAnchor.Kind.SCHEDULED, skip_if_anchored=True)
    except OSError as exc:  # the key provider (KMS) unreachable: try again later
        raise self.retry(exc=exc) from exc
    return anchor.sequence if anchor else None


@app.task(tenant_required=False)
def prune_all_firms() -> int:
    firms = maintained_firms()
    for firm in firms:
        with firm:
            prune_firm.delay()
    return len(firms)


@app.task
def prune_firm() -> int:
    from core.audit.services import audit_prune

    return audit_prune().deleted
