"""The firm's connected accounts at Stripe, its clients' online payments, retainer requests, card refunds of
retainers (two approvers), and the events seen."""

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
        TRUST = "trust", _("Trust")
        OPERATING = "operating", _("Operating")

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
    Checkout Session is created; the PaymentIntent id is known once the client
    paid (``checkout.session.completed``, or the PaymentIntent's own metadata);
    ``entry`` is posted once, by the signed ``payment_intent.succeeded`` event.
    A session that expired unpaid (or was left) is ``expired``: nothing was charged.
    """

    class Purpose(models.TextChoices):
        INVOICE = "invoice", "Invoice"
        RETAINER = "retainer", "Retainer into trust"

    class Status(models.TextChoices):
        STARTED = "started", _("Started")
        SUCCEEDED = "succeeded", _("Paid")
        REFUNDED = "refunded", _("Refunded")
        DISPUTED = "disputed", _("Disputed")
        EXPIRED = "expired", _("Not completed")
        # A plan's installment the card was declined for (``failure_reason`` says why); a retry starts it again.
        FAILED = "failed", _("Declined")

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
    # The Stripe-hosted Checkout page the client was sent to (its PaymentIntent exists once they pay).
    checkout_session_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    checkout_url = models.URLField(max_length=2000, blank=True)
    # Sent with the session's creation: a retry under the same idempotency key must send the same parameters.
    checkout_expires_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.STARTED)
    # Why the bank declined the charge (its message and decline code), while the payment is ``failed``.
    failure_reason = models.CharField(max_length=300, blank=True, default="")
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


class TrustCardRefund(models.Model):
    """A refund of a card retainer (client money in trust) back to the card, sent once two approvers agree.

    The approvals are those of its ``TrustRequest`` (``billing.trust``: two different
    approvers, never the requester). The idempotency key is saved with the row, long
    before the last approval makes the one call to Stripe, so a retry after a crash or a
    refusal sends the same key and Stripe refunds once. The ledger follows Stripe's
    ``charge.refunded`` event, as for any refund.
    """

    class Status(models.TextChoices):
        AWAITING = "awaiting", "Awaiting approval"
        # Both approvals given and the amount reserved on the payment; Stripe has not yet accepted it.
        SENDING = "sending", "Approved, not yet accepted by Stripe"
        ASKED = "asked", "Asked of Stripe"
        REJECTED = "rejected", "Rejected"

    request = models.OneToOneField("billing.TrustRequest", on_delete=models.PROTECT, related_name="card_refund")
    payment = models.ForeignKey(OnlinePayment, on_delete=models.PROTECT, related_name="trust_refunds")
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    idempotency_key = models.CharField(max_length=64, unique=True)
    stripe_refund_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.AWAITING)
    last_error = models.CharField(max_length=300, blank=True, default="")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [models.CheckConstraint(condition=models.Q(amount_minor__gt=0), name="trustcardrefund_positive")]

    def __str__(self) -> str:
        return f"card refund of {self.amount} from payment {self.payment_id} ({self.status})"

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


# Stripe's dispute states and reasons, in words staff read (the codes are Stripe's; an unknown one shows as is).
DISPUTE_STATES = {
    "warning_needs_response": _("Inquiry: needs a response"),
    "warning_under_review": _("Inquiry under review"),
    "warning_closed": _("Inquiry closed"),
    "needs_response": _("Needs a response"),
    "under_review": _("Under review"),
    "won": _("Won"),
    "lost": _("Lost"),
    "prevented": _("Prevented"),
}
DISPUTE_REASONS = {
    "bank_cannot_process": _("The bank cannot process it"),
    "check_returned": _("Check returned"),
    "credit_not_processed": _("Credit not processed"),
    "customer_initiated": _("Started by the cardholder"),
    "debit_not_authorized": _("Debit not authorized"),
    "duplicate": _("Duplicate charge"),
    "fraudulent": _("Fraudulent"),
    "general": _("General"),
    "incorrect_account_details": _("Incorrect account details"),
    "insufficient_funds": _("Insufficient funds"),
    "noncompliant": _("Noncompliant"),
    "product_not_received": _("Service not received"),
    "product_unacceptable": _("Service unacceptable"),
    "subscription_canceled": _("Subscription cancelled"),
    "unrecognized": _("Charge not recognized"),
}


class CardDispute(models.Model):
    """A card dispute (chargeback) on an online payment, as Stripe last told it, and what staff did about it.

    Made by ``charge.dispute.created`` (the ledger's side is ``billing.stripe.disputes``)
    and kept in step by the later dispute events. Staff answer it from the payment's
    page: evidence (a text and one of the matter's documents, uploaded to Stripe as a
    file) submitted through Stripe's dispute update, or the dispute accepted (closed, the
    money stays with the cardholder). Each call's idempotency key is saved before it.
    """

    payment = models.ForeignKey(OnlinePayment, on_delete=models.PROTECT, related_name="disputes")
    dispute_id = models.CharField(max_length=64, unique=True)
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    # Stripe's words: the reason (fraudulent, product_not_received, ...) and state (needs_response, won, ...).
    reason = models.CharField(max_length=64, blank=True, default="")
    status = models.CharField(max_length=32)
    evidence_due_by = models.DateTimeField(null=True, blank=True)
    evidence_text = models.TextField(blank=True, default="")
    evidence_document = models.ForeignKey(
        "core.Document", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    evidence_file_id = models.CharField(max_length=64, blank=True, default="")
    file_idempotency_key = models.CharField(max_length=64, blank=True, default="")
    submit_idempotency_key = models.CharField(max_length=64, blank=True, default="")
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    close_idempotency_key = models.CharField(max_length=64, blank=True, default="")
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"dispute {self.dispute_id} ({self.status})"

    @property
    def amount(self) -> Money:
        return Money(self.amount_minor, self.currency)

    @property
    def status_label(self) -> str:
        return str(DISPUTE_STATES.get(self.status, self.status))

    @property
    def reason_label(self) -> str:
        return str(DISPUTE_REASONS.get(self.reason, self.reason))

    @property
    def open(self) -> bool:
        """Staff can still answer it: Stripe waits for evidence (or for the firm to accept)."""
        return self.status in ("warning_needs_response", "needs_response")


class FeeStatementRepayment(models.Model):
    """A month's fee statement repaid: the firm's operating side paid the platform the trust fees it was billed.

    One per month and currency (a second is refused); ``entry`` moves the total from
    what is owed to the platform (``platform_payable``) out of the operating bank.
    """

    month = models.DateField(help_text="The statement's month (its first day).")
    currency = models.CharField(max_length=3)
    amount_minor = models.BigIntegerField()
    fee_count = models.PositiveIntegerField()
    entry = models.ForeignKey("billing.JournalEntry", on_delete=models.PROTECT, related_name="+")
    repaid_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    repaid_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["month", "currency"]
        constraints = [
            models.UniqueConstraint(fields=["month", "currency"], name="feestatementrepayment_once"),
            models.CheckConstraint(condition=models.Q(amount_minor__gt=0), name="feestatementrepayment_positive"),
        ]

    def __str__(self) -> str:
        return f"fee statement {self.month:%Y-%m} {self.currency} repaid"

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


class PaymentPlan(models.Model):
    """An open invoice paid in installments off a card the client saved for it (a SetupIntent for off-session use).

    Staff offer it (proposed); the client accepts it by saving a card on the firm's
    operating account (invoices are earned fees), and the plan is active once Stripe
    says the SetupIntent succeeded. Each idempotency key is saved before its call.
    """

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Offered")
        ACTIVE = "active", _("Active")
        COMPLETED = "completed", _("Completed")
        # The last retry of an installment was declined: the plan stopped with money past due.
        FAILED = "failed", _("Defaulted (past due)")
        CANCELLED = "cancelled", _("Cancelled")

    class Interval(models.TextChoices):
        WEEKLY = "weekly", _("Weekly")
        MONTHLY = "monthly", _("Monthly")

    invoice = models.ForeignKey("billing.Invoice", on_delete=models.PROTECT, related_name="payment_plans")
    client = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payment_plans")
    matter = models.ForeignKey("core.Matter", on_delete=models.PROTECT, related_name="payment_plans")
    total_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    installment_count = models.PositiveSmallIntegerField()
    interval = models.CharField(max_length=8, choices=Interval.choices)
    first_due_on = models.DateField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PROPOSED)
    # Set when the client accepts: the operating account, the Customer there, the SetupIntent, the saved card.
    account = models.ForeignKey(ConnectedAccount, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    customer_idempotency_key = models.CharField(max_length=64, blank=True, default="")
    customer_id = models.CharField(max_length=64, blank=True, default="")
    setup_idempotency_key = models.CharField(max_length=64, blank=True, default="")
    setup_intent_id = models.CharField(max_length=64, blank=True, default="")
    payment_method_id = models.CharField(max_length=64, blank=True, default="")
    offered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created = models.DateTimeField(auto_now_add=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(total_minor__gt=0), name="paymentplan_positive"),
            models.CheckConstraint(condition=models.Q(installment_count__gte=2), name="paymentplan_two_or_more"),
            # One live plan per invoice: a second offer waits until the first is cancelled, failed or done.
            # (An OR of equalities, not status__in: PostgreSQL prints an IN list's predicate in a form that,
            # read back, prints differently, and a stamped firm must carry the template's indexes verbatim.)
            models.UniqueConstraint(
                fields=["invoice"],
                condition=models.Q(status="proposed") | models.Q(status="active"),
                name="paymentplan_one_live",
            ),
        ]

    def __str__(self) -> str:
        return f"payment plan {self.pk} ({self.status})"

    @property
    def total(self) -> Money:
        return Money(self.total_minor, self.currency)


class PlanInstallment(models.Model):
    """One charge of a plan: due on a day, charged off-session; a decline is retried on a schedule.

    ``idempotency_key`` is the key of the current attempt's PaymentIntent, saved
    (with ``status`` charging) before the call; ``payment`` is the OnlinePayment the
    ``payment_intent.succeeded`` event posts to the ledger.
    """

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        CHARGING = "charging", _("Being charged")
        CHARGED = "charged", _("Charged")
        RETRYING = "retrying", _("Declined, will retry")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    plan = models.ForeignKey(PaymentPlan, on_delete=models.PROTECT, related_name="installments")
    number = models.PositiveSmallIntegerField()
    due_on = models.DateField()
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SCHEDULED)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_on = models.DateField()
    idempotency_key = models.CharField(max_length=64, blank=True, default="")
    payment_intent_id = models.CharField(max_length=64, blank=True, default="")
    payment = models.OneToOneField(
        OnlinePayment, on_delete=models.PROTECT, null=True, blank=True, related_name="installment"
    )
    last_error = models.CharField(max_length=300, blank=True, default="")
    charged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["plan", "number"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="planinstallment_unique_number"),
            models.CheckConstraint(condition=models.Q(amount_minor__gt=0), name="planinstallment_positive"),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_on"], name="planinstallment_due")]

    def __str__(self) -> str:
        return f"installment {self.number} of plan {self.plan_id} ({self.status})"

    @property
    def amount(self) -> Money:
        return Money(self.amount_minor, self.currency)
