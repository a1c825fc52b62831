"""Staff work: tasks, deadlines, their reminders and each person's calendar feed (SPEC §5, issue 11 item 3).

A ``Task`` is something a person at the firm must do, by hand or made by Portico
from a checklist line the firm is responsible for, a stage change, or a billing
rule (collections, trust, payment plans); ``source_key`` makes the ones Portico
makes idempotent (one task per cause). A ``Deadline`` is a dated event on a
matter (a filing deadline, an RFE response due date, a biometrics or interview
appointment); checklist due dates are not stored twice, the calendar reads them
from the checklist. A ``DeadlineReminder`` row is written once per deadline and
offset in the transaction that queues the email, so a reminder goes out once.
A ``CalendarFeed`` is a private iCalendar address for one person: only a hash
of its token is kept, and issuing a new one revokes the old.
"""

from __future__ import annotations

from django.db import models


class Task(models.Model):
    class Priority(models.TextChoices):
        LOW = "low", "Low"
        NORMAL = "normal", "Normal"
        HIGH = "high", "High"
        URGENT = "urgent", "Urgent"

    class State(models.TextChoices):
        OPEN = "open", "Open"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    class Source(models.TextChoices):
        MANUAL = "manual", "By hand"
        CHECKLIST = "checklist", "Checklist"
        STAGE = "stage", "Stage change"
        BILLING = "billing", "Billing"

    title = models.CharField(max_length=300)
    matter = models.ForeignKey("core.Matter", on_delete=models.CASCADE, null=True, blank=True, related_name="tasks")
    assignee = models.ForeignKey(
        "core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="assigned_tasks"
    )
    due_on = models.DateField(null=True, blank=True)
    priority = models.CharField(max_length=8, choices=Priority.choices, default=Priority.NORMAL)
    state = models.CharField(max_length=12, choices=State.choices, default=State.OPEN)
    source = models.CharField(max_length=12, choices=Source.choices, default=Source.MANUAL)
    source_key = models.CharField(max_length=120, null=True, blank=True, unique=True)
    created_by = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_on", "-priority", "id"]
        indexes = [models.Index(fields=["assignee", "state", "due_on"], name="task_by_assignee")]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.state in (self.State.OPEN, self.State.IN_PROGRESS)


class Deadline(models.Model):
    class Kind(models.TextChoices):
        FILING = "filing", "Filing deadline"
        RFE_RESPONSE = "rfe_response", "RFE response due"
        BIOMETRICS = "biometrics", "Biometrics appointment"
        INTERVIEW = "interview", "Interview"
        HEARING = "hearing", "Hearing"
        OTHER = "other", "Other"

    matter = models.ForeignKey("core.Matter", on_delete=models.CASCADE, related_name="deadlines")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    title = models.CharField(max_length=200, blank=True)
    due_at = models.DateTimeField()
    location = models.CharField(max_length=300, blank=True)
    responsible = models.ForeignKey(
        "core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="deadlines"
    )
    created_by = models.ForeignKey("core.User", on_delete=models.PROTECT, related_name="+")
    created = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(fields=["due_at"], condition=models.Q(done_at__isnull=True), name="deadline_open_by_due")
        ]

    def __str__(self) -> str:
        return self.title or self.get_kind_display()


class DeadlineReminder(models.Model):
    """One reminder of one deadline, ``days_before`` it, to one person: written when the email is queued."""

    deadline = models.ForeignKey(Deadline, on_delete=models.CASCADE, related_name="reminders")
    days_before = models.PositiveSmallIntegerField()
    recipient = models.ForeignKey("core.User", on_delete=models.CASCADE, related_name="+")
    queued_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["deadline", "days_before", "recipient"], name="deadlinereminder_once_per_offset"
            )
        ]

    def __str__(self) -> str:
        return f"{self.deadline_id} minus {self.days_before}d to {self.recipient_id}"


class CalendarFeed(models.Model):
    """A person's private iCalendar address: the token's SHA-256 only; at most one live feed per person."""

    user = models.ForeignKey("core.User", on_delete=models.CASCADE, related_name="calendar_feeds")
    token_hash = models.CharField(max_length=64, unique=True)
    created = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=models.Q(revoked_at__isnull=True), name="calendarfeed_one_live_per_user"
            )
        ]

    def __str__(self) -> str:
        return f"calendar feed of {self.user_id}"


class ReceiptNotice(models.Model):
    """A USCIS receipt notice on a matter: the receipt number (three letters, ten digits) for one form."""

    matter = models.ForeignKey("core.Matter", on_delete=models.CASCADE, related_name="receipts")
    receipt_number = models.CharField(max_length=13, unique=True)
    form = models.CharField(max_length=20, help_text="e.g. I-130")
    received_on = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey("core.User", on_delete=models.PROTECT, related_name="+")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created", "id"]

    def __str__(self) -> str:
        return f"{self.form} {self.receipt_number}"
