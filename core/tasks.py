"""Background jobs of the firm's domain. Thin: load by id, call a service."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from core.celery import PorticoTask, app, send_to_every_active_firm


@app.task(tenant_required=False)
def heartbeat() -> str:
    """Scheduled every PORTICO_HEARTBEAT_SECONDS; proves the scheduler and a worker are alive."""
    stamp = timezone.now().isoformat()
    path = settings.VAR_DIR / "heartbeat"
    path.parent.mkdir(parents=True, exist_ok=True)
    written = path.with_name("heartbeat.tmp")
    written.write_text(stamp)
    written.replace(path)  # atomic: a reader never sees a half-written stamp
    return stamp


@app.task(bind=True, max_retries=3, default_retry_delay=30)
def send_invitation(self: PorticoTask, user_id: int) -> None:
    from core.models import User
    from core.services import user_invite

    user = User.objects.get(pk=user_id)
    try:
        user_invite(user=user)
    except OSError as exc:  # mail server unreachable: try again later
        raise self.retry(exc=exc) from exc


@app.task(bind=True, max_retries=3, default_retry_delay=30)
def send_password_reset(self: PorticoTask, email: str) -> None:
    """Email a reset link if ``email`` is an active user of the task's firm (core.auth.reset); else nothing."""
    from core.auth.reset import password_reset_send

    try:
        password_reset_send(email=email)
    except OSError as exc:  # mail server unreachable: try again later
        raise self.retry(exc=exc) from exc


@app.task(tenant_required=False)
def revoke_expired_grants_in_every_firm() -> int:
    """Scheduled (public schema): send the firm-level sweep to every active firm; returns how many."""
    return send_to_every_active_firm(revoke_expired_grants)


@app.task(bind=True, max_retries=3, default_retry_delay=60)
def revoke_expired_grants(self: PorticoTask) -> int:
    """Close the current firm's expired grants (they are already refused at every request)."""
    from django.db import DatabaseError

    from core.grants import grants_revoke_expired

    try:
        return grants_revoke_expired()
    except DatabaseError as exc:
        raise self.retry(exc=exc) from exc


AUDITED_NAMES = 50  # the audit entry lists the first names; the count is always complete


@app.task(tenant_required=False)
def sweep_orphans_in_every_firm() -> int:
    """Scheduled (public schema): send the per-firm orphan sweep to every active firm; returns how many."""
    return send_to_every_active_firm(sweep_orphans)


@app.task(bind=True, max_retries=3, default_retry_delay=300)
def sweep_orphans(self: PorticoTask) -> int:
    """Delete the current firm's stored objects that have no row and are past the grace period; audit it."""
    from datetime import timedelta

    from core.audit.actions import AuditAction
    from core.audit.services import audit_record
    from residency.errors import ResidencyError
    from residency.orphans import orphans_sweep
    from tenants.current import current_firm

    grace = timedelta(seconds=settings.PORTICO_ORPHAN_GRACE_SECONDS)
    try:
        sweep = orphans_sweep(tenant=current_firm(), grace=grace)
    except ResidencyError as exc:  # storage unreachable: the next run, or a retry, picks it up
        raise self.retry(exc=exc) from exc
    if sweep.deleted:
        audit_record(
            AuditAction.STORAGE_ORPHANS_DELETED,
            data={
                "count": len(sweep.deleted),
                "bytes": sweep.deleted_bytes,
                "location": sweep.location,
                "names": sweep.deleted[:AUDITED_NAMES],
            },
        )
    return len(sweep.deleted)


# One task sends this many deliveries (or for this long) at most, then hands over to a fresh task: a worker's
# warm shutdown waits for little, and other endpoints get their turn.
BATCH_DELIVERIES = 20
BATCH_SECONDS = 10.0


@app.task(bind=True, max_retries=None)
def webhook_deliver(self: PorticoTask, endpoint_id: int, mark: str | None = None) -> int:
    """Send an endpoint's due deliveries in order; come back when the next one is due. Returns how many were tried.

    A task that finds another worker sending to the endpoint ends at once: that
    worker carries on, and once it lets go it looks (without the lock) for what
    was committed meanwhile (``endpoint_has_due``).
    """
    import time

    from core.webhooks.delivery import BUSY, endpoint_deliver_next, endpoint_has_due
    from core.webhooks.events import endpoint_task_started

    endpoint_task_started(mark)  # before looking: what commits from now on sends a task of its own
    tried, started = 0, time.monotonic()
    while True:
        wait = endpoint_deliver_next(endpoint_id=endpoint_id)
        if wait == 0:
            tried += 1
            if tried < BATCH_DELIVERIES and time.monotonic() - started < BATCH_SECONDS:
                continue
        elif wait is None and endpoint_has_due(endpoint_id=endpoint_id):
            continue
        break
    if wait is not None and wait != BUSY:
        self.apply_async(args=(endpoint_id,), countdown=wait, queue=settings.PORTICO_WEBHOOKS_QUEUE)
    return tried


@app.task(tenant_required=False)
def webhooks_sweep_in_every_firm() -> int:
    """Scheduled (public schema): re-send the delivery task of every endpoint with a delivery due, in every firm."""
    from core.models import WebhookEndpoint
    from core.webhooks.delivery import endpoints_due
    from core.webhooks.events import endpoints_queue
    from tenants.models import Tenant

    queued = 0
    for firm in Tenant.objects.filter(kind=Tenant.Kind.FIRM, status=Tenant.Status.ACTIVE):
        with firm:  # stamps the firm's schema on the messages
            due = list(WebhookEndpoint.objects.filter(pk__in=endpoints_due()))
            endpoints_queue(due)
            queued += len(due)
    return queued


@app.task(tenant_required=False)
def deadline_reminders_in_every_firm() -> int:
    """Scheduled (public schema): each active firm writes and queues its due deadline reminders."""
    return send_to_every_active_firm(deadline_reminders)


@app.task(bind=True, max_retries=3, default_retry_delay=60)
def deadline_reminders(self: PorticoTask) -> int:
    """The current firm's reminders that have come due: a row each (once per deadline, offset, person)."""
    from django.db import DatabaseError

    from core.work import deadline_reminders_queue

    try:
        return len(deadline_reminders_queue())
    except DatabaseError as exc:
        raise self.retry(exc=exc) from exc


@app.task(bind=True, max_retries=5, default_retry_delay=120)
def deadline_reminder_send(self: PorticoTask, reminder_id: int) -> bool:
    """Email one deadline reminder in the recipient's language, with a link to the matter; False if it is gone."""
    from django.urls import reverse
    from django.utils import translation

    from core.mail import firm_link, firm_mail
    from core.models import DeadlineReminder
    from core.work import deadline_reminder_text

    reminder = DeadlineReminder.objects.select_related("deadline__matter", "recipient").filter(pk=reminder_id).first()
    if reminder is None or reminder.deadline.done_at is not None:
        return False
    recipient = reminder.recipient
    with translation.override(recipient.preferred_language or "en"):
        subject, body = deadline_reminder_text(reminder)
        link = firm_link(reverse("portal:staff_matter", kwargs={"matter_id": reminder.deadline.matter_id}))
    try:
        firm_mail(subject=subject, body=f"{body}\n\n{link}", to=[recipient.email])
    except OSError as exc:  # mail server unreachable: try again later
        raise self.retry(exc=exc) from exc
    return True
