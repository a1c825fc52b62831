"""What a firm charges: fee templates with billing codes, and the time its people record."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class FeeTemplate(models.Model):
    """One billable item of a service: a flat fee, an hourly rate, or a disbursement passed on at cost."""

    class Service(models.TextChoices):
        CONSULTATION = "consultation", "Consultation"
        PETITION_FILING = "petition_filing", "Petition filing"
        RFE_RESPONSE = "rfe_response", "RFE response"
        APPEAL = "appeal", "Appeal"

    class Kind(models.TextChoices):
        FLAT = "flat", "Flat fee"
        HOURLY = "hourly", "Hourly"
        DISBURSEMENT = "disbursement", "Disbursement"

    code = models.CharField(max_length=32, unique=True, help_text="Billing code, e.g. PET-FLAT or USCIS-I130.")
    service = models.CharField(max_length=32, choices=Service.choices)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    description = models.CharField(max_length=200)
    description_es = models.CharField(max_length=200, blank=True, default="", help_text="Shown to Spanish readers.")
    # Flat fee or disbursement amount; for hourly templates, the rate per hour.
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3, default="USD")
    # The matter-type stage whose completion drafts this item (e.g. "filed"); blank: added by hand.
    bill_on_stage = models.CharField(max_length=64, blank=True, default="")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["service", "code"]
        constraints = [models.CheckConstraint(condition=models.Q(amount_minor__gte=0), name="fee_amount_not_negative")]

    def __str__(self) -> str:
        return f"{self.code} {self.description}"

    def description_in(self, language: str) -> str:
        return self.description_es if language == "es" and self.description_es else self.description


class TimeEntry(models.Model):
    """Minutes worked on a matter at an hourly rate; billed once, on one invoice line."""

    matter = models.ForeignKey("core.Matter", on_delete=models.PROTECT, related_name="time_entries")
    timekeeper = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="time_entries")
    fee_template = models.ForeignKey(FeeTemplate, on_delete=models.PROTECT, null=True, blank=True)
    worked_on = models.DateField()
    minutes = models.PositiveIntegerField()
    rate_minor = models.BigIntegerField(help_text="Per hour, in minor units.")
    currency = models.CharField(max_length=3, default="USD")
    description = models.CharField(max_length=500)
    invoice_line = models.ForeignKey(
        "billing.InvoiceLine", on_delete=models.SET_NULL, null=True, blank=True, related_name="time_entries"
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["worked_on", "id"]
        verbose_name_plural = "time entries"
        constraints = [
            models.CheckConstraint(condition=models.Q(minutes__gt=0), name="time_entry_minutes_positive"),
            models.CheckConstraint(condition=models.Q(rate_minor__gte=0), name="time_entry_rate_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.matter_id} {self.worked_on} {self.minutes} min"
