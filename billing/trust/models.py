"""Trust deposits, disbursement and refund requests with their approvals, the firm's trust policy, tasks."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from billing.ledger.models import JournalEntry
from billing.money import Money
from core.models import FirmSettings


def firm_currency() -> str:
    """The firm's currency (``FirmSettings.currency``): new accounts, invoices and thresholds are in it."""
    return FirmSettings.load().currency


class TrustSettings(models.Model):
    """The firm's trust policy: one row per firm schema (``TrustSettings.load()``).

    Thresholds are kept in minor units of the firm's currency (``FirmSettings.currency``)
    and read as ``Money`` (``two_approver_threshold``, ``low_balance``); people enter
    them as amounts ("5000.00") on the trust settings page.
    """

    id = models.PositiveBigIntegerField(primary_key=True, default=1, editable=False)  # bigint, as every id (Citus)
    two_approver_threshold_minor = models.BigIntegerField(
        default=500_000, help_text="Disbursements and refunds above this need two approvers (minor units)."
    )
    low_balance_minor = models.BigIntegerField(
        default=50_000, help_text="A client-matter trust balance that falls below this creates a task."
    )
    apply_trust_to_invoices = models.BooleanField(
        default=True, help_text="Apply a client's trust funds to their issued invoices automatically."
    )
    partial_payment_minimum_minor = models.BigIntegerField(
        default=50_00, help_text="The smallest part of an invoice a client may pay online (minor units)."
    )
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "trust settings"
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="trustsettings_single_row")]

    def __str__(self) -> str:
        return "trust settings"

    @classmethod
    def load(cls) -> TrustSettings:
        return cls.objects.get_or_create(id=1)[0]

    @property
    def two_approver_threshold(self) -> Money:
        return Money(self.two_approver_threshold_minor, firm_currency())

    @property
    def low_balance(self) -> Money:
        return Money(self.low_balance_minor, firm_currency())

    @property
    def partial_payment_minimum(self) -> Money:
        return Money(self.partial_payment_minimum_minor, firm_currency())


class TrustDeposit(models.Model):
    """Money received into trust for a client and matter; spendable once ``cleared_on`` has passed."""

    class Method(models.TextChoices):
        # Translated: the client reads them on their billing page (portal/templates/portal/billing_inv_client.html).
        CHECK = "check", _("Check")
        WIRE = "wire", _("Wire")
        CASH = "cash", _("Cash")
        CARD = "card", _("Card")

    client = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="trust_deposits")
    matter = models.ForeignKey("core.Matter", on_delete=models.PROTECT, related_name="trust_deposits")
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    method = models.CharField(max_length=8, choices=Method.choices)
    reference = models.CharField(max_length=100, blank=True)
    received_on = models.DateField()
    cleared_on = models.DateField(null=True, blank=True, help_text="Empty until the bank has cleared the funds.")
    entry = models.OneToOneField(
        JournalEntry, on_delete=models.PROTECT, null=True, blank=True, related_name="trust_deposit"
    )
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_on", "-id"]
        constraints = [models.CheckConstraint(condition=models.Q(amount_minor__gt=0), name="trustdeposit_positive")]

    def __str__(self) -> str:
        return f"deposit {self.amount} for {self.matter_id}"

    @property
    def amount(self) -> Money:
        return Money(self.amount_minor, self.currency)


class TrustRequest(models.Model):
    """A request to pay money out of a client's trust funds (to a payee, or back to the client)."""

    class Kind(models.TextChoices):
        DISBURSEMENT = "disbursement", "Disbursement"
        REFUND = "refund", "Refund"

    class Status(models.TextChoices):
        PENDING = "pending", "Awaiting approval"
        POSTED = "posted", "Approved and paid"
        REJECTED = "rejected", "Rejected"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    client = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="trust_requests")
    matter = models.ForeignKey("core.Matter", on_delete=models.PROTECT, related_name="trust_requests")
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    payee = models.CharField(max_length=200)
    purpose = models.CharField(max_length=500)
    approvals_required = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    entry = models.OneToOneField(
        JournalEntry, on_delete=models.PROTECT, null=True, blank=True, related_name="trust_request"
    )

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [models.CheckConstraint(condition=models.Q(amount_minor__gt=0), name="trustrequest_positive")]

    def __str__(self) -> str:
        return f"{self.kind} of {self.amount} to {self.payee}"

    @property
    def amount(self) -> Money:
        return Money(self.amount_minor, self.currency)


class TrustApproval(models.Model):
    request = models.ForeignKey(TrustRequest, on_delete=models.PROTECT, related_name="approvals")
    approver = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created", "id"]
        constraints = [
            models.UniqueConstraint(fields=["request", "approver"], name="trustapproval_one_per_approver"),
        ]

    def __str__(self) -> str:
        return f"approval of {self.request_id} by {self.approver_id}"


class BillingTask(models.Model):
    """Something the billing staff must do, e.g. ask a client to top up a low trust balance."""

    class Kind(models.TextChoices):
        LOW_TRUST_BALANCE = "low_trust_balance", "Low trust balance"
        TRUST_REPLENISH = "trust_replenish", "Replenish trust after a dispute"
        COLLECTIONS = "collections", "Follow up an overdue invoice"
        PARTNER_ESCALATION = "partner_escalation", "Overdue invoice escalated to the partners"
        PAYMENT_PLAN_FAILED = "payment_plan_failed", "Payment plan failed: contact the client"

    kind = models.CharField(max_length=32, choices=Kind.choices)
    client = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="billing_tasks")
    matter = models.ForeignKey("core.Matter", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    message = models.CharField(max_length=500)
    created = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return self.message
