"""The billing app's models, kept in its sub-parts and imported here so Django finds them."""

from billing.ledger.models import Account, JournalEntry, JournalLine
from billing.reconciliation.models import BankStatement, StatementLine
from billing.trust.models import BillingTask, TrustApproval, TrustDeposit, TrustRequest, TrustSettings

__all__ = [
    "Account",
    "BankStatement",
    "BillingTask",
    "JournalEntry",
    "JournalLine",
    "StatementLine",
    "TrustApproval",
    "TrustDeposit",
    "TrustRequest",
    "TrustSettings",
]
