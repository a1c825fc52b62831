"""The firm's connected accounts at Stripe, its clients' online payments, retainer requests, and the events seen."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from billing.money import Money


class ConnectedAccount(models.Model):
    """One of the firm's two Stripe accounts: client money (trust) or the firm's own (operating).

    The trust account is created with the platform paying its processing fees, so
    no fee is ever taken from client money.
    """

    class Kind(models.TextChoices):
        TRUST = "trust", "Trust"
        OPERATING = "operating", "Operating"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending (onboarding not finished)"
        RESTRICTED = "restricted", "Restricted (Stripe needs more details)"
        ENABLED = "enabled", "Enabled"

    kind = models.CharField(max_length=16, choices=Kind.choices, unique=True)
    stripe_account_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    # Saved before the call to Stripe, so a retried creation makes no second account.
    idempotency_key = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind"]

    def __str__(self) -> str:
        return f"{self.kind} account {self.stripe_account_id or '(not created)'}"


class RetainerRequest(models.Model):
    """The firm asks a client to pay a retainer into trust for a matter; paid online on the trust account."""

    class Status(models.TextChoices):
        OPEN = "open", _("Awaiting payment")
        PAID = "paid", _("Paid")

    client = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="retainer_requests")
    matter = models.ForeignKey("core.Matter", on_delete=models.PROTECT, related_name="retainer_requests")
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    purpose = models.CharField(max_length=300)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [models.CheckConstraint(condition=models.Q(amount_minor__gt=0), name="retainerrequest_positive")]

    def __str__(self) -> str:
        return f"retainer request {self.pk} for {self.matter_id}"

    @property
    def amount(self) -> Money:
        return Money(self.amount_minor, self.currency)


class OnlinePayment(models.Model):
    """A card payment through Stripe: a direct charge on exactly one of the firm's two accounts.

    An invoice is paid on the operating account, a retainer on the trust account;
    a check constraint holds the pairing. The idempotency key is saved before the
    PaymentIntent is created; ``entry`` is posted once, by the signed
    ``payment_intent.succeeded`` event.
    """

    class Purpose(models.TextChoices):
        INVOICE = "invoice", "Invoice"
        RETAINER = "retainer", "Retainer into trust"

    class Status(models.TextChoices):
        STARTED = "started", _("Started")
        SUCCEEDED = "succeeded", _("Paid")
        REFUNDED = "refunded", _("Refunded")
        DISPUTED = "disputed", _("Disputed")

    class DisputeOutcome(models.TextChoices):
        OPEN = "", "No dispute closed"
        WON = "won", "Won (the money came back)"
        LOST = "lost", "Lost (the money stays out)"

    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    account = models.ForeignKey(ConnectedAccount, on_delete=models.PROTECT, related_name="payments")
    account_kind = models.CharField(max_length=16, choices=ConnectedAccount.Kind.choices)
    invoice = models.ForeignKey(
        "billing.Invoice", on_delete=models.PROTECT, null=True, blank=True, related_name="online_payments"
    )
    retainer = models.ForeignKey(
        RetainerRequest, on_delete=models.PROTECT, null=True, blank=True, related_name="online_payments"
    )
    client = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="online_payments")
    matter = models.ForeignKey("core.Matter", on_delete=models.PROTECT, related_name="online_payments")
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    refunded_minor = models.BigIntegerField(default=0)
    # Taken back by a dispute (chargeback): frozen at Stripe, out of the books until the dispute is won.
    disputed_minor = models.BigIntegerField(default=0)
    # Refunds staff asked Stripe for (confirmed or not): Portico refuses to ask for more than was paid.
    refund_asked_minor = models.BigIntegerField(default=0)
    # What of the dispute came out of the client's trust ledger (the rest was the firm's loss); a won dispute
    # gives back exactly these two parts.
    dispute_held_minor = models.BigIntegerField(default=0)
    dispute_outcome = models.CharField(max_length=8, choices=DisputeOutcome.choices, blank=True, default="")
    # Stripe's processing fee on the charge (its balance transaction): an operating expense on either account.
    fee_minor = models.BigIntegerField(default=0)
    idempotency_key = models.CharField(max_length=64, unique=True)
    payment_intent_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.STARTED)
    entry = models.ForeignKey("billing.JournalEntry", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount_minor__gt=0), name="onlinepayment_positive"),
            models.CheckConstraint(
                condition=models.Q(refunded_minor__gte=0, refunded_minor__lte=models.F("amount_minor")),
                name="onlinepayment_refund_within_amount",
            ),
            # The one rule that keeps client money apart: invoices on operating, retainers on trust.
            models.CheckConstraint(
                condition=(
                    models.Q(purpose="invoice", account_kind="operating", invoice__isnull=False, retainer__isnull=True)
                    | models.Q(purpose="retainer", account_kind="trust", retainer__isnull=False, invoice__isnull=True)
                ),
                name="onlinepayment_right_account",
            ),
        ]

    def __str__(self) -> str:
        return f"online {self.purpose} payment {self.pk} ({self.status})"

    @property
    def amount(self) -> Money:
        return Money(self.amount_minor, self.currency)


class PlatformFee(models.Model):
    """A fee Stripe billed to the platform for a charge or dispute on the firm's trust account.

    The trust account never pays its own fees (``controller.fees.payer="application"``):
    each such fee is one row here, posted as an operating expense owed to the
    platform, and listed on the month's itemised fee statement that the firm's
    operating side repays. The balance transaction id is unique: a fee is owed once.
    """

    class Kind(models.TextChoices):
        CHARGE = "charge", "Processing fee"
        DISPUTE = "dispute", "Dispute fee"

    payment = models.ForeignKey(OnlinePayment, on_delete=models.PROTECT, related_name="platform_fees")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    balance_transaction_id = models.CharField(max_length=64, unique=True)
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    incurred_on = models.DateField()
    entry = models.ForeignKey("billing.JournalEntry", on_delete=models.PROTECT, related_name="+")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["incurred_on", "id"]
        constraints = [models.CheckConstraint(condition=models.Q(amount_minor__gt=0), name="platformfee_positive")]

    def __str__(self) -> str:
        return f"{self.kind} fee {self.balance_transaction_id}"

    @property
    def amount(self) -> Money:
        return Money(self.amount_minor, self.currency)


class StripeEvent(models.Model):
    """A Stripe event applied in this firm: its id is unique, recorded in the same transaction as its effect."""

    event_id = models.CharField(max_length=64, unique=True)
    type = models.CharField(max_length=64)
    account_id = models.CharField(max_length=64)
    payment = models.ForeignKey(OnlinePayment, on_delete=models.PROTECT, null=True, blank=True, related_name="events")
    received = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["received", "id"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"
