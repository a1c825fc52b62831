"""Writes on collections: pausing and resuming a client's reminders, the firm's tiers and settings (all audited)."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from billing.collections.models import CollectionsSettings, ReminderPause, ReminderTier
from billing.locks import money_transaction
from core.audit.actions import AuditAction
from core.audit.services import audit_record
from core.models import User

TIER_FIELDS = (
    "name",
    "offset_days",
    "email_client",
    "create_task",
    "escalate_to_partner",
    "subject_en",
    "body_en",
    "subject_es",
    "body_es",
    "active",
)


@money_transaction
def reminders_pause(*, client: User, reason: str, by: User) -> ReminderPause:
    """No reminder goes to ``client`` until staff resume them."""
    if client.is_staff:
        raise ValidationError("reminders go to clients; this is a member of staff")
    if not reason.strip():
        raise ValidationError("say why reminders are paused")
    pause, _ = ReminderPause.objects.get_or_create(client=client, defaults={"reason": reason[:500], "paused_by": by})
    audit_record(AuditAction.COLLECTIONS_REMINDERS_PAUSED, actor=by, target=client, data={"reason": pause.reason})
    return pause


@money_transaction
def reminders_resume(*, client: User, by: User) -> bool:
    """Reminders to ``client`` go out again; False when they were not paused."""
    deleted, _ = ReminderPause.objects.filter(client=client).delete()
    if deleted:
        audit_record(AuditAction.COLLECTIONS_REMINDERS_RESUMED, actor=by, target=client)
    return bool(deleted)


@money_transaction
def reminder_tier_save(*, tier: ReminderTier, by: User) -> ReminderTier:
    """Add or change a tier (an unsaved ``tier`` is added). A changed tier keeps the reminders it already fired."""
    if not (tier.email_client or tier.create_task or tier.escalate_to_partner):
        raise ValidationError("a tier emails the client, creates a task or escalates to the partners")
    if not tier.subject_en.strip() or not tier.body_en.strip():
        raise ValidationError("a tier needs an English subject and body")
    tier.full_clean()
    tier.save()
    audit_record(
        AuditAction.COLLECTIONS_TIER_SAVED,
        actor=by,
        target=tier,
        data={field: getattr(tier, field) for field in TIER_FIELDS if not field.startswith(("body", "subject"))},
    )
    return tier


@money_transaction
def collections_settings_update(
    *,
    quiet_days: int,
    at_risk_days: int,
    by: User,
    report_weekday: int | None = None,
    report_hour: int | None = None,
) -> CollectionsSettings:
    """Save the firm's collections settings (a report day or hour left None stays as it is)."""
    if not (0 <= quiet_days <= 365 and 0 <= at_risk_days <= 365):
        raise ValidationError("days are between 0 and 365")
    if report_weekday is not None and not 0 <= report_weekday <= 6:
        raise ValidationError("the report's day is 0 (Monday) to 6 (Sunday)")
    if report_hour is not None and not 0 <= report_hour <= 23:
        raise ValidationError("the report's hour is 0 to 23")
    current = CollectionsSettings.load()
    names = ("quiet_days", "at_risk_days", "report_weekday", "report_hour")
    before = {name: getattr(current, name) for name in names}
    current.quiet_days, current.at_risk_days = quiet_days, at_risk_days
    if report_weekday is not None:
        current.report_weekday = report_weekday
    if report_hour is not None:
        current.report_hour = report_hour
    current.save()
    audit_record(
        AuditAction.COLLECTIONS_SETTINGS_CHANGED,
        actor=by,
        data={"before": before, "after": {name: getattr(current, name) for name in names}},
    )
    return current
