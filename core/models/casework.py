"""A matter's casework: the client's protected identifiers, documents, messages, notifications, timeline.

Documents hold only the name of the encrypted object in ``residency.storage``;
the bytes never touch the database. Each submission against a requirement is a
new ``Document`` (a resubmission keeps the earlier ones as history).
``MatterEvent`` is the matter's timeline and the source of the intake KPIs
(SPEC §8): intake started/completed, each upload and review decision.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from kms.fields import EncryptedCharField, EncryptedDateField, KeyedHashField


class ClientProfile(models.Model):
    """A client's identity documents, encrypted under the firm's key (A-number, passport, birth date)."""

    user = models.OneToOneField("core.User", on_delete=models.CASCADE, related_name="client_profile")
    phone = models.CharField(max_length=32, blank=True)
    a_number = EncryptedCharField(max_length=12, null=True, blank=True)
    a_number_hash = KeyedHashField(of="a_number")
    passport_number = EncryptedCharField(max_length=20, null=True, blank=True)
    passport_number_hash = KeyedHashField(of="passport_number")
    date_of_birth = EncryptedDateField(null=True, blank=True)

    def __str__(self) -> str:
        return f"profile of {self.user_id}"


class ReasonCode(models.TextChoices):
    """Templated rejection reasons; the label is translated into the client's language when shown."""

    BLURRY_IMAGE = "blurry_image", _("The image is blurry. Please take a sharper photo or scan.")
    MISSING_PAGE = "missing_page", _("A page is missing. Please upload every page of the document.")
    EXPIRED_DOCUMENT = "expired_document", _("The document has expired. Please upload a current one.")
    WRONG_DOCUMENT = "wrong_document", _("This is not the document we asked for.")
    UNREADABLE = "unreadable", _("We cannot read the document. Please upload a clearer copy.")
    OTHER = "other", _("Please see the note from your legal team.")


class Document(models.Model):
    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Needs a new upload")

    matter = models.ForeignKey("core.Matter", on_delete=models.CASCADE, related_name="documents")
    requirement = models.ForeignKey(
        "core.DocumentRequirement", on_delete=models.PROTECT, null=True, blank=True, related_name="documents"
    )
    slot = models.PositiveSmallIntegerField(default=1, help_text="Which one, for a repeated requirement.")
    version = models.PositiveSmallIntegerField(default=1)
    storage_name = models.CharField(max_length=300, unique=True)
    original_filename = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    # Metadata the uploader gives (SPEC §6) and what the upload pipeline found.
    document_type = models.CharField(max_length=100, blank=True)
    document_date = models.DateField(null=True, blank=True)
    signer = models.CharField(max_length=200, blank=True)
    page_count = models.PositiveIntegerField(null=True, blank=True)
    language = models.CharField(max_length=16, blank=True)
    uploaded_by = models.ForeignKey("core.User", on_delete=models.PROTECT, related_name="uploaded_documents")
    uploaded_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED)
    reason_code = models.CharField(max_length=32, choices=ReasonCode.choices, blank=True)
    review_note = models.TextField(blank=True)
    reviewed_by = models.ForeignKey(
        "core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="reviewed_documents"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["matter", "requirement", "slot", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["matter", "requirement", "slot", "version"], name="document_version_unique")
        ]
        indexes = [models.Index(fields=["status", "uploaded_at"], name="document_review_queue")]

    def __str__(self) -> str:
        return f"document {self.pk} v{self.version}"

    @property
    def reason_text(self) -> str:
        """The rejection reason in the active language (wrap in ``translation.override``)."""
        return str(ReasonCode(self.reason_code).label) if self.reason_code else ""

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


class Message(models.Model):
    matter = models.ForeignKey("core.Matter", on_delete=models.CASCADE, related_name="messages")
    sender = models.ForeignKey("core.User", on_delete=models.PROTECT, related_name="sent_messages")
    body = models.TextField()
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["matter", "created", "id"]

    def __str__(self) -> str:
        return f"message {self.pk} on {self.matter_id}"


class Notification(models.Model):
    """An in-app notice for one user (a paralegal told of an upload, a client of a rejection or message)."""

    recipient = models.ForeignKey("core.User", on_delete=models.CASCADE, related_name="notifications")
    matter = models.ForeignKey("core.Matter", on_delete=models.CASCADE, related_name="notifications", null=True)
    kind = models.CharField(max_length=40)
    text = models.CharField(max_length=500)
    link = models.CharField(max_length=300, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"], name="notification_unread")]

    def __str__(self) -> str:
        return f"{self.kind} for {self.recipient_id}"


class MatterEvent(models.Model):
    """What happened on a matter, when and by whom: its timeline and the KPI timestamps."""

    matter = models.ForeignKey("core.Matter", on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=40, help_text="e.g. intake.started, document.uploaded, stage.completed")
    actor = models.ForeignKey("core.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    document = models.ForeignKey(Document, on_delete=models.SET_NULL, null=True, blank=True, related_name="events")
    at = models.DateTimeField(db_index=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["matter", "at", "id"]
        indexes = [models.Index(fields=["kind", "at"], name="matter_event_kpi")]

    def __str__(self) -> str:
        return f"{self.kind} on {self.matter_id} at {self.at:%Y-%m-%d %H:%M}"
