"""Models that live in every firm's schema: users, matters, who may reach a matter, firm settings.

Access to a matter is decided in one place, ``core.access``; the models here
only hold the facts it reads (assignments, grants, per-matter permissions).
Case management (SPEC §6) lives beside them: ``core.models.matter_types``
(matter types as data: intake questions, document requirements, workflow
stages), ``core.models.casework`` (client profiles, documents, messages,
notifications, the matter timeline).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.utils import timezone
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase


class UserManager(BaseUserManager["User"]):
    # Not in migrations: they import no live code, and no data migration creates users.
    use_in_migrations = False

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("a user needs an email address")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):  # type: ignore[django-manager-missing]  # BackupCodeDevice: untyped base
    """A person who signs in to one firm: staff, a client, or outside counsel."""

    class Language(models.TextChoices):
        ENGLISH = "en", "English"
        SPANISH = "es", "Español"

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=200, blank=True)
    preferred_language = models.CharField(max_length=8, choices=Language.choices, default=Language.ENGLISH)
    is_staff = models.BooleanField(default=False, help_text="Works for the firm (as opposed to a client).")
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    invited_at = models.DateTimeField(
        null=True, blank=True, help_text="When the last invitation was sent (KPI: time to intake)."
    )

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        ordering = ["email"]
        permissions = [
            ("manage_roles", "Can change the roles of the firm's users"),
            ("view_access_review", "Can see and export the access review"),
        ]

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


class FirmSettings(models.Model):
    """The firm's own switches: one row per firm schema (``FirmSettings.load()``)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    require_staff_two_factor = models.BooleanField(
        default=False, help_text="Staff must enrol and use an authenticator app to reach any staff page."
    )
    attorneys_see_all_matters = models.BooleanField(
        default=False, help_text="Attorneys see every matter, not only those they are assigned to."
    )
    currency = models.CharField(
        max_length=3, default="USD", help_text="The firm's currency (ISO 4217): invoices, trust, thresholds."
    )
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "firm settings"
        permissions = [("manage_firm_settings", "Can change the firm's settings")]
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="firmsettings_single_row")]

    def __str__(self) -> str:
        return "firm settings"

    @classmethod
    def load(cls) -> FirmSettings:
        return cls.objects.get_or_create(id=1)[0]


class Matter(models.Model):
    """A client's immigration case. Case management (§6) extends it; access is decided in ``core.access``."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ON_HOLD = "on_hold", "On hold"
        CLOSED = "closed", "Closed"

    reference = models.CharField(max_length=32, unique=True, help_text="The firm's file number, e.g. 2025-0042.")
    title = models.CharField(max_length=200)
    matter_type = models.ForeignKey(
        "core.MatterType", on_delete=models.PROTECT, null=True, blank=True, related_name="matters"
    )
    stage = models.ForeignKey(
        "core.WorkflowStage", on_delete=models.PROTECT, null=True, blank=True, related_name="matters"
    )
    client = models.ForeignKey(User, on_delete=models.PROTECT, related_name="client_matters")
    responsible_attorney = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="responsible_matters"
    )
    assigned_paralegal = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="paralegal_matters"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    intake_id = models.CharField(
        max_length=64, unique=True, null=True, blank=True, help_text="The intake's id in the firm's other systems (§9)."
    )
    filing_category = models.CharField(max_length=64, blank=True, help_text="e.g. IR1, EB-2; free text.")
    priority = models.CharField(max_length=16, blank=True, default="normal")
    intake_answers = models.JSONField(default=dict, blank=True)
    # KPI timestamps (SPEC §8): time to intake, complete-intake rate.
    intake_started_at = models.DateTimeField(null=True, blank=True)
    intake_completed_at = models.DateTimeField(null=True, blank=True)
    documents_completed_at = models.DateTimeField(
        null=True, blank=True, help_text="When every required document was first accepted."
    )
    complete_on_first_submission = models.BooleanField(
        null=True, blank=True, help_text="Every required document accepted without a rejection (set with the above)."
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["reference"]
        permissions = [("view_all_matters", "Can see every matter in the firm")]
        indexes = [models.Index(fields=["-updated"], name="matter_recent")]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"


class MatterUserObjectPermission(UserObjectPermissionBase):
    """django-guardian's per-matter user permissions, with a real foreign key (cascades, joins)."""

    content_object = models.ForeignKey(Matter, on_delete=models.CASCADE)


class MatterGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Matter, on_delete=models.CASCADE)


class Grant(models.Model):
    """Temporary access to one matter for one person (usually outside counsel), until ``expires_at``.

    A grant is live while it is neither revoked nor past its expiry; the accessor
    checks that at every request, so an expired grant stops working at once even
    before the sweep (``core.tasks``) marks it revoked and removes its permission.
    """

    grantee = models.ForeignKey(User, on_delete=models.PROTECT, related_name="grants")
    matter = models.ForeignKey(Matter, on_delete=models.CASCADE, related_name="grants")
    granted_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="grants_given")
    reason = models.CharField(max_length=500)
    created = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="grants_revoked")

    class Meta:
        ordering = ["expires_at"]
        permissions = [("manage_grants", "Can give, extend and revoke temporary access to matters")]
        constraints = [
            # At most one open (not revoked) grant per person and matter: a change extends it.
            models.UniqueConstraint(
                fields=["grantee", "matter"],
                condition=models.Q(revoked_at__isnull=True),
                name="grant_one_open_per_grantee_and_matter",
            ),
        ]
        indexes = [
            models.Index(
                fields=["expires_at"], condition=models.Q(revoked_at__isnull=True), name="grant_open_by_expiry"
            )
        ]

    def __str__(self) -> str:
        return f"{self.grantee} on {self.matter.reference} until {self.expires_at:%Y-%m-%d %H:%M} UTC"

    def is_live(self, *, at: datetime) -> bool:
        return self.revoked_at is None and self.expires_at > at


from core.models.accounts import BackupCode, BackupCodeDevice, KnownBrowser  # noqa: E402  (registered with core)
from core.models.casework import (  # noqa: E402  (registered with the core app)
    ClientProfile,
    Document,
    MatterEvent,
    Message,
    Notification,
)
from core.models.idempotency import IdempotencyKey  # noqa: E402
from core.models.integrations import Integration  # noqa: E402
from core.models.matter_types import (  # noqa: E402
    DocumentRequirement,
    IntakeQuestion,
    MatterType,
    WorkflowStage,
)
from core.models.webhooks import WebhookDelivery, WebhookEndpoint, WebhookEvent  # noqa: E402
from core.models.work import CalendarFeed, Deadline, DeadlineReminder, ReceiptNotice, Task  # noqa: E402

__all__ = [
    "BackupCode",
    "BackupCodeDevice",
    "CalendarFeed",
    "ClientProfile",
    "Deadline",
    "DeadlineReminder",
    "Document",
    "DocumentRequirement",
    "FirmSettings",
    "Grant",
    "IdempotencyKey",
    "IntakeQuestion",
    "Integration",
    "KnownBrowser",
    "Matter",
    "MatterEvent",
    "MatterGroupObjectPermission",
    "MatterType",
    "MatterUserObjectPermission",
    "Message",
    "Notification",
    "ReceiptNotice",
    "Task",
    "User",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
    "WorkflowStage",
]
