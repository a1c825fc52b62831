"""Temporary access to named matters (SPEC §5): give, change, revoke, and sweep expired grants.

Only people with ``core.manage_grants`` (firm admin, partner) give, change or
revoke a grant, and only on a matter they can see. Each write keeps the
grantee's django-guardian permission in step (``matter_permissions_sync``) and
records one audit entry. The accessor refuses an expired grant on its own;
``grants_revoke_expired`` is the scheduled tidy-up that also removes the
permission and records ``grant.expired``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from core.audit.actions import AuditAction
from core.audit.services import audit_record
from core.matters import matter_permissions_sync
from core.models import Grant, Matter, User
from core.roles import MANAGE_GRANTS, Role, roles_of
from core.webhooks import event_emit

MAX_GRANT_DURATION = timedelta(days=366)


def _check_manager(by: User) -> None:
    if not by.has_perm(MANAGE_GRANTS):
        raise PermissionDenied("Only a firm admin or a partner may give, change or revoke access.")


def _check_expiry(expires_at: datetime, *, now: datetime) -> None:
    if timezone.is_naive(expires_at):
        raise ValidationError("The expiry needs a time zone.")
    if expires_at <= now:
        raise ValidationError("The expiry must be in the future.")
    if expires_at > now + MAX_GRANT_DURATION:
        raise ValidationError("A grant may last at most a year; give a new one when it ends.")


def _check_grantee(grantee: User) -> None:
    if not grantee.is_active:
        raise ValidationError(f"{grantee.email} is deactivated.")
    if not (grantee.is_staff or Role.OUTSIDE_COUNSEL in roles_of(grantee)):
        raise ValidationError(f"{grantee.email} is neither staff nor outside counsel; grants are for them only.")


def _data(grant: Grant, **extra: object) -> dict[str, object]:
    return {
        "grantee": grant.grantee.email,
        "matter": grant.matter.reference,
        "expires_at": grant.expires_at.isoformat(),
        **extra,
    }


def _close(grant: Grant, *, at: datetime, by: User | None) -> list[str]:
    grant.revoked_at = at
    grant.revoked_by = by
    grant.save(update_fields=["revoked_at", "revoked_by"])
    return matter_permissions_sync(matter=grant.matter, user=grant.grantee, at=at).removed


@transaction.atomic
def grant_create(
    *,
    matter: Matter,
    grantee: User,
    expires_at: datetime,
    reason: str,
    by: User,
    at: datetime | None = None,
) -> Grant:
    """Let ``grantee`` see ``matter`` until ``expires_at``."""
    now = at or timezone.now()
    _check_manager(by)
    _check_expiry(expires_at, now=now)
    _check_grantee(grantee)
    reason = reason.strip()
    if not reason:
        raise ValidationError("Say why the access is given (it appears in the access review).")
    open_grant = Grant.objects.select_for_update().filter(matter=matter, grantee=grantee, revoked_at=None).first()
    if open_grant is not None and open_grant.is_live(at=now):
        raise ValidationError(f"{grantee.email} already has access until {open_grant.expires_at:%Y-%m-%d %H:%M} UTC.")
    if open_grant is not None:  # expired, not yet swept: close it first, as the sweep would
        _expire(open_grant, at=now)
    grant = Grant.objects.create(matter=matter, grantee=grantee, granted_by=by, reason=reason, expires_at=expires_at)
    added = matter_permissions_sync(matter=matter, user=grantee, at=now).added
    audit_record(
        AuditAction.GRANT_CREATED,
        actor=by,
        target=grant,
        data=_data(grant, reason=reason, permissions=added),
    )
    return grant


@transaction.atomic
def grant_change_expiry(*, grant: Grant, expires_at: datetime, by: User, at: datetime | None = None) -> Grant:
    """Extend (or shorten) a live grant."""
    now = at or timezone.now()
    _check_manager(by)
    _check_expiry(expires_at, now=now)
    grant = Grant.objects.select_for_update().select_related("grantee", "matter").get(pk=grant.pk)
    if not grant.is_live(at=now):
        raise ValidationError("This grant has ended; give a new one instead.")
    before = grant.expires_at
    grant.expires_at = expires_at
    grant.save(update_fields=["expires_at"])
    audit_record(
        AuditAction.GRANT_CHANGED,
        actor=by,
        target=grant,
        data=_data(grant, previous_expires_at=before.isoformat()),
    )
    return grant


@transaction.atomic
def grant_revoke(*, grant: Grant, by: User, at: datetime | None = None) -> Grant:
    now = at or timezone.now()
    _check_manager(by)
    grant = Grant.objects.select_for_update().select_related("grantee", "matter").get(pk=grant.pk)
    if grant.revoked_at is not None:
        raise ValidationError("This grant was already revoked.")
    removed = _close(grant, at=now, by=by)
    audit_record(AuditAction.GRANT_REVOKED, actor=by, target=grant, data=_data(grant, permissions=removed))
    return grant


def _expire(grant: Grant, *, at: datetime) -> None:
    removed = _close(grant, at=at, by=None)
    audit_record(AuditAction.GRANT_EXPIRED, target=grant, data=_data(grant, permissions=removed))
    event_emit(
        type="grant.expired",
        data={
            "grant": grant.pk,
            "matter": grant.matter_id,
            "reference": grant.matter.reference,
            "grantee": grant.grantee_id,
        },
    )


def grants_revoke_expired(*, at: datetime | None = None) -> int:
    """Close every grant past its expiry in the current firm; returns how many. Safe to run concurrently."""
    now = at or timezone.now()
    closed = 0
    with transaction.atomic():
        expired = (
            Grant.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("grantee", "matter")
            .filter(revoked_at__isnull=True, expires_at__lte=now)
            .order_by("expires_at", "pk")
        )
        for grant in expired:
            _expire(grant, at=now)
            closed += 1
    return closed
