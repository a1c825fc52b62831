"""Invoices, their lines and payments, write-offs, recurring plans, and the numbering counters."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from billing.approvals import ApprovalRequest
from billing.money import Money


class NumberSequence(models.Model):
    """The last number given out per series ("invoice", "credit_note") in this firm.

    Issuing locks the row (``SELECT ... FOR UPDATE``) inside the issuing
    transaction, so numbers are gap-free: a rolled-back issue gives its number back.
    """

    series = models.CharField(max_length=32, primary_key=True)
    last_value = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.series}: {self.last_value}"


class Invoice(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ISSUED = "issued", _("Issued")
        PARTIALLY_PAID = "partially_paid", _("Partially paid")
        PAID = "paid", _("Paid")
        VOID = "void", _("Void")
        WRITTEN_OFF = "written_off", _("Written off")

    class Origin(models.TextChoices):
        MANUAL = "manual", "Created by hand"
        STAGE = "stage", "Matter stage completed"
        RECURRING = "recurring", "Recurring plan"

    matter = models.ForeignKey("core.Matter", on_delete=models.PROTECT, related_name="invoices")
    client = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="invoices")
    number = models.PositiveIntegerField(null=True, blank=True, unique=True, help_text="Given at issue, gap-free.")
    currency = models.CharField(max_length=3, default="USD")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    origin = models.CharField(max_length=16, choices=Origin.choices, default=Origin.MANUAL)
    origin_detail = models.CharField(max_length=100, blank=True, default="", help_text="The stage or plan.")
    needs_review = models.BooleanField(default=False, help_text="Drafted automatically; waits for a partner.")
    total_minor = models.BigIntegerField(default=0)
    paid_minor = models.BigIntegerField(default=0)
    credited_minor = models.BigIntegerField(default=0)
    # Of payments and credits, how much was moved to the client's credit (overpayments, credit beyond what was due).
    to_client_credit_minor = models.BigIntegerField(default=0)
    written_off_minor = models.BigIntegerField(default=0)
    issued_on = models.DateField(null=True, blank=True)
    due_on = models.DateField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="invoices_created"
    )
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="invoices_issued"
    )
    void_reason = models.CharField(max_length=500, blank=True, default="")
    issue_entry = models.ForeignKey(
        "billing.JournalEntry", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created", "-id"]
        permissions = [
            ("view_billing", "Can see invoices, time entries and credit notes"),
            ("manage_invoices", "Can draft invoices, record time and payments, request credit notes and write-offs"),
            ("issue_invoice", "Can review and issue or void invoices"),
            ("approve_adjustment", "Can approve credit notes and write-offs requested by someone else"),
        ]
        indexes = [models.Index(fields=["status", "needs_review"], name="invoice_by_status")]

    def __str__(self) -> str:
        return self.display_number

    @property
    def display_number(self) -> str:
        return f"INV-{self.number:06d}" if self.number else f"draft #{self.pk}"

    def money(self, minor: int) -> Money:
        return Money(minor, self.currency)

    @property
    def total(self) -> Money:
        return self.money(self.total_minor)

    @property
    def paid(self) -> Money:
        return self.money(self.paid_minor)

    @property
    def balance_due_minor(self) -> int:
        """What the receivable for this invoice holds: negative when the client paid more than was due."""
        return (
            self.total_minor
            - self.paid_minor
            - self.credited_minor
            - self.written_off_minor
            + self.to_client_credit_minor
        )

    @property
    def balance_due(self) -> Money:
        return self.money(self.balance_due_minor)


class InvoiceLine(models.Model):
    class Kind(models.TextChoices):
        FEE = "fee", "Fee"
        TIME = "time", "Time"
        DISBURSEMENT = "disbursement", "Disbursement"

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    code = models.CharField(max_length=32, help_text="The billing code (revenue is kept per code).")
    description = models.CharField(max_length=500)
    description_es = models.CharField(max_length=500, blank=True, default="")
    # Hours for time lines are minutes/60; other lines count units.
    quantity = models.PositiveIntegerField(default=1)
    minutes = models.PositiveIntegerField(default=0)
    unit_minor = models.BigIntegerField()
    amount_minor = models.BigIntegerField()
    timekeeper = models.CharField(max_length=200, blank=True, default="")
    worked_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.code} {self.amount_minor}"

    def description_in(self, language: str) -> str:
        return self.description_es if language == "es" and self.description_es else self.description

    @property
    def amount(self) -> Money:
        return Money(self.amount_minor, self.invoice.currency)


class Payment(models.Model):
    """Money received against an invoice: by hand (check, wire, cash, card), from trust, or from client credit."""

    class Method(models.TextChoices):
        CHECK = "check", _("Check")
        WIRE = "wire", _("Wire")
        CASH = "cash", _("Cash")
        CARD = "card", _("Card (recorded by hand)")
        TRUST = "trust", _("Applied from trust")
        CREDIT = "credit", _("Applied from client credit")
        ONLINE = "online", _("Card (paid online)")

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    method = models.CharField(max_length=16, choices=Method.choices)
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    received_on = models.DateField()
    reference = models.CharField(max_length=100, blank=True, default="", help_text="Check number, wire reference.")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    entry = models.ForeignKey("billing.JournalEntry", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["received_on", "id"]
        constraints = [models.CheckConstraint(condition=models.Q(amount_minor__gt=0), name="payment_amount_positive")]

    def __str__(self) -> str:
        return f"{self.method} {self.amount_minor} on {self.invoice_id}"

    @property
    def amount(self) -> Money:
        return Money(self.amount_minor, self.currency)


class WriteOff(ApprovalRequest):
    """Writing off what remains due on an invoice: requested by one person, approved by another."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="write_offs")
    amount_minor = models.BigIntegerField()
    reason = models.CharField(max_length=500)

    class Meta(ApprovalRequest.Meta):
        constraints = [models.CheckConstraint(condition=models.Q(amount_minor__gt=0), name="write_off_positive")]

    def __str__(self) -> str:
        return f"write-off {self.amount_minor} on {self.invoice_id}"

    @property
    def amount(self) -> Money:
        return Money(self.amount_minor, self.invoice.currency)


class RecurringPlan(models.Model):
    """Draft an invoice for a matter every ``every_months`` months: a flat template plus unbilled time."""

    matter = models.ForeignKey("core.Matter", on_delete=models.PROTECT, related_name="recurring_plans")
    fee_template = models.ForeignKey("billing.FeeTemplate", on_delete=models.PROTECT, null=True, blank=True)
    every_months = models.PositiveSmallIntegerField(default=1)
    next_on = models.DateField()
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["next_on", "id"]

    def __str__(self) -> str:
        return f"plan {self.pk} for matter {self.matter_id}"
