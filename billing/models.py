"""The billing app's models, kept in its sub-parts and imported here so Django finds them."""

from billing.collections.models import CollectionsSettings, ReminderPause, ReminderSent, ReminderTier
from billing.credit_notes.models import CreditNote, CreditRefund
from billing.fees.models import FeeTemplate, TimeEntry
from billing.invoices.models import Invoice, InvoiceLine, NumberSequence, Payment, RecurringPlan, WriteOff
from billing.ledger.models import Account, AccountMonth, ClosedMonth, JournalEntry, JournalLine
from billing.reconciliation.models import BankStatement, StatementLine
from billing.stripe.models import (
    ConnectedAccount,
    OnlinePayment,
    PaymentPlan,
    PlanInstallment,
    RetainerRequest,
    StripeEvent,
    TrustCardRefund,
)
from billing.trust.models import BillingTask, TrustApproval, TrustDeposit, TrustRequest, TrustSettings

__all__ = [
    "Account",
    "AccountMonth",
    "BankStatement",
    "BillingTask",
    "ClosedMonth",
    "CollectionsSettings",
    "ConnectedAccount",
    "CreditNote",
    "CreditRefund",
    "FeeTemplate",
    "Invoice",
    "InvoiceLine",
    "JournalEntry",
    "JournalLine",
    "NumberSequence",
    "OnlinePayment",
    "Payment",
    "PaymentPlan",
    "PlanInstallment",
    "RecurringPlan",
    "ReminderPause",
    "ReminderSent",
    "ReminderTier",
    "RetainerRequest",
    "StatementLine",
    "StripeEvent",
    "TimeEntry",
    "TrustApproval",
    "TrustCardRefund",
    "TrustDeposit",
    "TrustRequest",
    "TrustSettings",
    "WriteOff",
]
