"""Background jobs of the firm's domain. Thin: load by id, call a service."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from core.celery import app


@app.task(tenant_required=False)
def heartbeat() -> str:
    """Scheduled every minute; proves the scheduler and a worker are alive."""
    stamp = timezone.now().isoformat()
    path = settings.VAR_DIR / "heartbeat"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(stamp)
    return stamp


@app.task(bind=True, max_retries=3, default_retry_delay=30)
def send_invitation(self, user_id: int) -> None:  # type: ignore[no-untyped-def]
    from core.models import User
    from core.services import user_invite

    user = User.objects.get(pk=user_id)
    try:
        user_invite(user=user)
    except OSError as exc:  # mail server unreachable: try again later
        raise self.retry(exc=exc) from exc
