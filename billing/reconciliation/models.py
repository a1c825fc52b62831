"""Imported bank statements of the trust account and their lines, matched (or not) to ledger lines."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from billing.ledger.models import Account, JournalLine
from kms.fields import EncryptedCharField


class BankStatement(models.Model):
    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        OFX = "ofx", "OFX"

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="statements")
    format = models.CharField(max_length=4, choices=Format.choices)
    filename = models.CharField(max_length=200, blank=True)
    period_start = models.DateField()
    period_end = models.DateField()
    closing_balance_minor = models.BigIntegerField(help_text="The bank's balance at the end of the period.")
    # The account number the bank printed on the statement (OFX ACCTID), under the retention key class.
    bank_account_number = EncryptedCharField(max_length=34, key_class="retention", null=True, blank=True)
    currency = models.CharField(max_length=3)
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-period_end", "-id"]

    def __str__(self) -> str:
        return f"statement {self.period_start}..{self.period_end}"


class StatementLine(models.Model):
    """One transaction on the statement: positive amounts are deposits, negative withdrawals."""

    class MatchedHow(models.TextChoices):
        AUTO = "auto", "Automatically"
        MANUAL = "manual", "By hand"

    statement = models.ForeignKey(BankStatement, on_delete=models.CASCADE, related_name="lines")
    posted_on = models.DateField()
    amount_minor = models.BigIntegerField()
    description = models.CharField(max_length=500, blank=True)
    reference = models.CharField(max_length=100, blank=True)
    bank_id = models.CharField(max_length=100, blank=True, help_text="The bank's own id (OFX FITID).")
    matched_line = models.OneToOneField(
        JournalLine, on_delete=models.PROTECT, null=True, blank=True, related_name="statement_line"
    )
    matched_on = models.DateField(null=True, blank=True, help_text="The matched ledger line's date (for the report).")
    matched_how = models.CharField(max_length=8, choices=MatchedHow.choices, blank=True)
    matched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["posted_on", "id"]

    def __str__(self) -> str:
        return f"{self.posted_on} {self.amount_minor} {self.description}"
