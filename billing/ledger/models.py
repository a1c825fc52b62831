"""Accounts, journal entries and their lines: the double-entry ledger (SPEC §7).

Amounts are whole minor units (``BigIntegerField``) with an ISO 4217 currency.
A posted entry never changes: the database refuses an unbalanced entry at
commit and any UPDATE or DELETE of an entry or a line (triggers created in the
migration ``0001_ledger``); a correction is a new, reversing entry.

``JournalLine.occurred_on`` repeats the entry's date so balances "as of" a day
are one indexed scan of the lines, without a join (see ``selectors``).
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models

from kms.fields import EncryptedCharField


class Account(models.Model):
    """One account of the firm's chart of accounts (``billing.ledger.accounts.account_for``)."""

    class Kind(models.TextChoices):
        OPERATING_BANK = "operating_bank", "Operating bank"
        TRUST_BANK = "trust_bank", "Trust bank"
        CLIENT_TRUST = "client_trust", "Client trust liability"
        RECEIVABLE = "receivable", "Accounts receivable"
        REVENUE = "revenue", "Revenue"
        PROCESSOR_FEES = "processor_fees", "Processor fees"
        WRITE_OFFS = "write_offs", "Write-offs"
        CLIENT_CREDIT = "client_credit", "Client credit"
        PLATFORM_PAYABLE = "platform_payable", "Due to the platform (trust processing fees)"

    # Accounts whose balance is naturally a debit (assets, expenses); the others are credit-normal.
    DEBIT_NORMAL: ClassVar[frozenset[str]] = frozenset(
        {Kind.OPERATING_BANK, Kind.TRUST_BANK, Kind.RECEIVABLE, Kind.PROCESSOR_FEES, Kind.WRITE_OFFS}
    )
    # The trust account's books: what a three-way reconciliation covers and a closed month locks.
    TRUST_KINDS: ClassVar[frozenset[str]] = frozenset({Kind.TRUST_BANK, Kind.CLIENT_TRUST})
    # Kinds kept per client (and, optionally, matter).
    PER_CLIENT: ClassVar[frozenset[str]] = frozenset({Kind.CLIENT_TRUST, Kind.RECEIVABLE, Kind.CLIENT_CREDIT})

    kind = models.CharField(max_length=32, choices=Kind.choices)
    currency = models.CharField(max_length=3)
    client = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_accounts"
    )
    matter = models.ForeignKey(
        "core.Matter", on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_accounts"
    )
    billing_code = models.CharField(max_length=32, blank=True, default="", help_text="Revenue per billing code.")
    name = models.CharField(max_length=200)
    # The bank's account number for the firm's bank accounts, under the retention key class.
    bank_account_number = EncryptedCharField(max_length=34, key_class="retention", null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "id"]
        permissions = [
            ("view_ledger", "Can read the ledger, trust balances and reconciliation reports"),
            ("manage_trust", "Can record trust deposits and request disbursements and refunds"),
            ("approve_trust", "Can approve disbursements and refunds from trust"),
            ("reconcile_trust", "Can import bank statements and match them to the ledger"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "currency", "client", "matter", "billing_code"],
                nulls_distinct=False,
                name="ledger_account_one_per_kind_and_owner",
            ),
            # Spelled without IN: PostgreSQL prints an IN over varchar in a form that does not read back
            # identically, and a firm stamped from the template must match a migrated one exactly.
            models.CheckConstraint(
                condition=models.Q(client__isnull=False)
                | (~models.Q(kind="client_trust") & ~models.Q(kind="receivable") & ~models.Q(kind="client_credit")),
                name="ledger_account_client_kinds_have_client",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def debit_normal(self) -> bool:
        return self.kind in self.DEBIT_NORMAL


class JournalEntry(models.Model):
    """One business event as one balanced set of lines, posted once and never changed."""

    kind = models.CharField(max_length=48, help_text="What happened, e.g. trust.deposit, invoice.issue.")
    memo = models.CharField(max_length=500)
    occurred_on = models.DateField()
    posted_at = models.DateTimeField(auto_now_add=True)
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="journal_entries"
    )
    source_type = models.CharField(max_length=100, blank=True, default="", help_text="Model label of the source.")
    source_id = models.CharField(max_length=64, blank=True, default="")
    reverses = models.OneToOneField("self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversed_by")

    class Meta:
        ordering = ["occurred_on", "id"]
        verbose_name_plural = "journal entries"
        indexes = [models.Index(fields=["source_type", "source_id"], name="ledger_entry_by_source")]

    def __str__(self) -> str:
        return f"JE-{self.pk} {self.occurred_on} {self.memo}"


class JournalLine(models.Model):
    """A debit or a credit of one account, in minor units of one currency."""

    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="lines")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="lines")
    debit_minor = models.BigIntegerField(default=0)
    credit_minor = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3)
    occurred_on = models.DateField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(debit_minor__gt=0, credit_minor=0) | models.Q(debit_minor=0, credit_minor__gt=0)),
                name="ledger_line_one_side_positive",
            ),
        ]
        indexes = [
            models.Index(fields=["account", "occurred_on"], name="ledger_line_by_account_date"),
            models.Index(fields=["occurred_on"], name="ledger_line_by_date"),
        ]

    def __str__(self) -> str:
        side = f"Dr {self.debit_minor}" if self.debit_minor else f"Cr {self.credit_minor}"
        return f"{self.account} {side} {self.currency}"

    @property
    def net_debit_minor(self) -> int:
        return self.debit_minor - self.credit_minor


class AccountMonth(models.Model):
    """Debits and credits per account and calendar month, kept by the database, never by Python.

    A statement-level trigger on ``billing_journalline`` (migration
    ``0005_ledger_monthly_totals``) adds every inserted batch of lines to its
    account's month, in the same transaction. Lines are never updated or deleted,
    so the totals stay exact; balances read whole months from here and only the
    last, partial month from the lines (``billing.ledger.selectors``).
    """

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="months")
    month = models.DateField(help_text="The first day of the month.")
    debit_minor = models.BigIntegerField(default=0)
    credit_minor = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "month"], name="ledger_accountmonth_one_per_month")]

    def __str__(self) -> str:
        return f"{self.account} {self.month:%Y-%m}"


class ClosedMonth(models.Model):
    """A month of trust postings signed off as reconciled: no trust posting may be dated in it any more.

    Closed by ``billing.reconciliation.services.reconciliation_close_month`` once
    the month's three-way reconciliation balances; ``billing.ledger.services``
    refuses trust postings dated in it (``check_open``).
    """

    month = models.DateField(help_text="The first day of the month.")
    currency = models.CharField(max_length=3)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    closed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-month", "currency"]
        constraints = [models.UniqueConstraint(fields=["month", "currency"], name="ledger_closedmonth_one_per_month")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.currency} closed"
