"""The firm's reminder tiers, the reminders they fired, paused clients and the collections settings.

A tier fires at most once per invoice: ``ReminderSent`` is unique on (invoice,
tier) and is written in the transaction that queues the send
(``billing.collections.reminders.reminder_fire``), so two fan-outs running at
once cannot both send it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class CollectionsSettings(models.Model):
    """The firm's collections switches: one row per firm schema (``CollectionsSettings.load()``)."""

    id = models.PositiveBigIntegerField(primary_key=True, default=1, editable=False)  # bigint, as every id (Citus)
    quiet_days = models.PositiveIntegerField(
        default=5, help_text="No reminder on an invoice if one was sent for it within N days (0: no limit)."
    )
    at_risk_days = models.PositiveIntegerField(
        default=30, help_text="A matter with an overdue balance is at risk when a checklist item is due this soon."
    )
    report_weekday = models.PositiveSmallIntegerField(
        default=0, help_text="The day the weekly partner report goes out (0 Monday ... 6 Sunday)."
    )
    report_hour = models.PositiveSmallIntegerField(
        default=7, help_text="The hour (0-23, the firm's time) the weekly partner report goes out."
    )
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "collections settings"
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="collectionssettings_single_row"),
            models.CheckConstraint(
                condition=models.Q(report_weekday__lte=6, report_hour__lte=23), name="collectionssettings_report_time"
            ),
        ]

    def __str__(self) -> str:
        return "collections settings"

    @classmethod
    def load(cls) -> CollectionsSettings:
        return cls.objects.get_or_create(id=1)[0]


class ReminderTier(models.Model):
    """One step of the firm's reminder schedule: when (days from the due date) and what it does.

    ``offset_days`` is negative before the due date and positive after it. The
    subject and body are templates per language; ``{name}`` placeholders are
    filled by ``billing.collections.reminders.PLACEHOLDERS`` (nothing else is evaluated).
    """

    name = models.CharField(max_length=100)
    offset_days = models.IntegerField(help_text="Days from the due date: negative before it, positive after.")
    email_client = models.BooleanField(default=True, help_text="Email the client, with the invoice attached.")
    create_task = models.BooleanField(default=False, help_text="Create a collections task for the billing staff.")
    escalate_to_partner = models.BooleanField(default=False, help_text="Email the firm's partners about the invoice.")
    subject_en = models.CharField(max_length=200)
    body_en = models.TextField()
    subject_es = models.CharField(max_length=200, blank=True, default="")
    body_es = models.TextField(blank=True, default="")
    active = models.BooleanField(default=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["offset_days", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.offset_days:+d} days)"

    def subject_in(self, language: str) -> str:
        return self.subject_es if language == "es" and self.subject_es else self.subject_en

    def body_in(self, language: str) -> str:
        return self.body_es if language == "es" and self.body_es else self.body_en


class ReminderSent(models.Model):
    """A tier fired on an invoice: written once, in the transaction that queued its send."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        SKIPPED = "skipped", _("Skipped")

    invoice = models.ForeignKey("billing.Invoice", on_delete=models.PROTECT, related_name="reminders")
    tier = models.ForeignKey(ReminderTier, on_delete=models.PROTECT, related_name="reminders")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    language = models.CharField(max_length=8, default="en")
    fired_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    recipients = models.CharField(max_length=500, blank=True, default="", help_text="Who, never their addresses.")
    note = models.CharField(max_length=500, blank=True, default="", help_text="Why it was skipped, or what failed.")

    class Meta:
        ordering = ["-fired_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["invoice", "tier"], name="reminder_once_per_invoice_and_tier")]

    def __str__(self) -> str:
        return f"{self.tier} on invoice {self.invoice_id} ({self.status})"


class ReminderPause(models.Model):
    """Staff stopped reminders to this client (until they resume them)."""

    client = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reminder_pause")
    reason = models.CharField(max_length=500)
    paused_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    paused_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"reminders paused for {self.client_id}"


class PartnerReportSent(models.Model):
    """The weekly report went to this partner for the week starting ``week_of``: one row each, the log staff read."""

    partner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    week_of = models.DateField(help_text="The Monday of the week it was sent in.")
    language = models.CharField(max_length=8)
    period_start = models.DateField()
    period_end = models.DateField()
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-sent_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["partner", "week_of"], name="partner_report_once_a_week")]

    def __str__(self) -> str:
        return f"partner report to {self.partner_id} for the week of {self.week_of}"
