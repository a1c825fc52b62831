"""Credit notes against an invoice."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from billing.approvals import ApprovalRequest
from billing.money import Money


class CreditNote(ApprovalRequest):
    class Reason(models.TextChoices):
        OVERPAYMENT = "overpayment", "Overpayment"
        DUPLICATE_PAYMENT = "duplicate_payment", "Duplicate payment"
        SCOPE_CHANGE = "scope_change", "Scope change"
        GOODWILL = "goodwill", "Goodwill"

    # Reasons that return money the client paid (kept as client credit); the others reduce what is owed.
    RETURNS_PAYMENT = frozenset({Reason.OVERPAYMENT, Reason.DUPLICATE_PAYMENT})

    invoice = models.ForeignKey("billing.Invoice", on_delete=models.PROTECT, related_name="credit_notes")
    matter = models.ForeignKey("core.Matter", on_delete=models.PROTECT, related_name="credit_notes")
    number = models.PositiveIntegerField(null=True, blank=True, unique=True, help_text="Given at approval.")
    reason = models.CharField(max_length=32, choices=Reason.choices)
    memo = models.CharField(max_length=500, blank=True, default="")
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    # How much of the note became client credit (a liability) rather than reducing the invoice.
    to_client_credit_minor = models.BigIntegerField(default=0)

    class Meta(ApprovalRequest.Meta):
        constraints = [models.CheckConstraint(condition=models.Q(amount_minor__gt=0), name="credit_note_positive")]

    def __str__(self) -> str:
        return self.display_number

    @property
    def display_number(self) -> str:
        return f"CN-{self.number:06d}" if self.number else f"requested #{self.pk}"

    @property
    def amount(self) -> Money:
        return Money(self.amount_minor, self.currency)


class CreditRefund(ApprovalRequest):
    """Paying a client's credit back from the operating account: requested by one person, approved by another."""

    class Method(models.TextChoices):
        CHECK = "check", "Check"
        WIRE = "wire", "Wire"

    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        APPROVED = "approved", "Approved and paid"
        REJECTED = "rejected", "Rejected"

    client = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="credit_refunds")
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    method = models.CharField(max_length=8, choices=Method.choices)
    reason = models.CharField(max_length=500)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.REQUESTED)

    class Meta(ApprovalRequest.Meta):
        constraints = [models.CheckConstraint(condition=models.Q(amount_minor__gt=0), name="credit_refund_positive")]

    def __str__(self) -> str:
        return f"refund of {self.amount_minor} {self.currency} credit to {self.client_id}"

    @property
    def amount(self) -> Money:
        return Money(self.amount_minor, self.currency)
