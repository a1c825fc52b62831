"""Who may reach which billing object: one accessor per protected model, 404 for missing, not yours and malformed.

Views and the API reach billing objects only through the functions here
(``tests/test_protected_lookups.py`` fails on a view that looks one up
directly); ids go through ``core.access.object_id``.

Billing staff (``keeps_the_books``: staff holding ``billing.view_billing`` or
``billing.view_ledger`` — firm admin, partner, billing clerk) keep every
client's books, so they reach every matter, client and invoice of the firm for
billing work: that rule is written here once. Anyone else reaches billing
objects only through a matter ``core.access`` gives them: a client sees their
own issued invoices, the approved credit notes on them and their payments.
Write-offs and credit refunds are internal: billing staff only.

Trust and reconciliation (trust requests and the card refunds they ask, trust deposits, bank statements, their
lines, and the trust-bank ledger lines they are matched to) are the firm's books
proper: billing staff who may read the ledger (``reads_the_ledger``:
``billing.view_ledger``) reach every one of them; nobody else reaches any. The
permission to act on the object (403) is the view's or the service's check.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from billing.collections.models import PartnerReportSent, ReminderTier
from billing.credit_notes.models import CreditNote, CreditRefund
from billing.invoices.models import Invoice, Payment, WriteOff
from billing.ledger.models import Account, JournalLine
from billing.reconciliation.models import BankStatement, StatementLine
from billing.stripe.models import ConnectedAccount, OnlinePayment, PaymentPlan, RetainerRequest, TrustCardRefund
from billing.trust.models import TrustDeposit, TrustRequest
from core.access import Person, matter_for_user, matters_for_user, object_id, signed_in
from core.models import Document, Matter, User
from core.roles import MANAGE_FIRM_SETTINGS, VIEW_BILLING, VIEW_LEDGER

# --- Invoices, credit notes, credit refunds, write-offs (and the books they hang on) ------------------------


def keeps_the_books(user: Person) -> bool:
    """Billing staff: they see every matter, client and invoice of the firm for billing work."""
    return signed_in(user) and user.is_staff and (user.has_perm(VIEW_BILLING) or user.has_perm(VIEW_LEDGER))


def matters_for_billing(user: Person) -> QuerySet[Matter]:
    """The matters to bill or keep trust money on: every matter for billing staff, else ``core.access``'s answer."""
    found = Matter.objects.all() if keeps_the_books(user) else matters_for_user(user)
    return found.select_related("client").order_by("reference")


def matter_for_billing(user: Person, matter_id: object) -> Matter:
    """A matter to bill or keep trust money on: any matter for billing staff, else ``core.access``'s answer."""
    if not keeps_the_books(user):
        return matter_for_user(user, matter_id)
    matter = Matter.objects.select_related("client").filter(pk=object_id(matter_id, "matter")).first()
    if matter is None:
        raise Http404("No such matter.")
    return matter


def client_for_billing(user: Person, client_id: object) -> User:
    """A client whose books billing staff ask for; 404 for anyone else, and for a missing client."""
    pk = object_id(client_id, "client")
    found = User.objects.filter(pk=pk).first() if keeps_the_books(user) else None
    if found is None:
        raise Http404("No such client.")
    return found


def attorney_for_billing(user: Person, attorney_id: object) -> User:
    """A member of staff whose matters billing staff ask about (aging by attorney); 404 for anyone else."""
    pk = object_id(attorney_id, "attorney")
    found = User.objects.filter(pk=pk, is_staff=True).first() if keeps_the_books(user) else None
    if found is None:
        raise Http404("No such attorney.")
    return found


def reminder_tiers_for_user(user: Person) -> QuerySet[ReminderTier]:
    """The firm's reminder tiers: billing staff only."""
    return ReminderTier.objects.all() if keeps_the_books(user) else ReminderTier.objects.none()


def partner_reports_for_user(user: Person) -> QuerySet[PartnerReportSent]:
    """The log of weekly partner reports sent: billing staff only."""
    found = PartnerReportSent.objects.all() if keeps_the_books(user) else PartnerReportSent.objects.none()
    return found.select_related("partner")


def reminder_tier_for_user(user: Person, tier_id: object) -> ReminderTier:
    found = reminder_tiers_for_user(user).filter(pk=object_id(tier_id, "reminder tier")).first()
    if found is None:
        raise Http404("No such reminder tier.")
    return found


def invoices_for_user(user: Person) -> QuerySet[Invoice]:
    """Every invoice for billing staff; otherwise the user's own issued invoices on matters they reach."""
    if not signed_in(user):
        return Invoice.objects.none()
    if keeps_the_books(user):
        return Invoice.objects.all()
    return Invoice.objects.filter(client=user, matter__in=matters_for_user(user)).exclude(status=Invoice.Status.DRAFT)


def invoice_for_user(user: Person, invoice_id: object) -> Invoice:
    """The invoice if ``user`` may see it; Http404 when it is missing or not theirs."""
    invoice = (
        invoices_for_user(user)
        .select_related("matter", "client", "created_by", "issued_by")
        .filter(pk=object_id(invoice_id, "invoice"))
        .first()
    )
    if invoice is None:
        raise Http404("No such invoice.")
    return invoice


def payments_for_user(user: Person) -> QuerySet[Payment]:
    return Payment.objects.filter(invoice__in=invoices_for_user(user)).select_related("invoice")


def credit_notes_for_user(user: Person) -> QuerySet[CreditNote]:
    """Credit notes on the invoices the user reaches; a client sees only the approved ones."""
    notes = CreditNote.objects.filter(invoice__in=invoices_for_user(user))
    return notes if keeps_the_books(user) else notes.filter(status=CreditNote.Status.APPROVED)


def credit_note_for_user(user: Person, credit_note_id: object) -> CreditNote:
    pk = object_id(credit_note_id, "credit note")
    note = credit_notes_for_user(user).select_related("invoice", "matter").filter(pk=pk).first()
    if note is None:
        raise Http404("No such credit note.")
    return note


def credit_refunds_for_user(user: Person) -> QuerySet[CreditRefund]:
    return CreditRefund.objects.all() if keeps_the_books(user) else CreditRefund.objects.none()


def credit_refund_for_user(user: Person, refund_id: object) -> CreditRefund:
    pk = object_id(refund_id, "refund")
    refund = credit_refunds_for_user(user).select_related("client").filter(pk=pk).first()
    if refund is None:
        raise Http404("No such refund.")
    return refund


def write_offs_for_user(user: Person) -> QuerySet[WriteOff]:
    return WriteOff.objects.all() if keeps_the_books(user) else WriteOff.objects.none()


def write_off_for_user(user: Person, write_off_id: object) -> WriteOff:
    pk = object_id(write_off_id, "write-off")
    found = write_offs_for_user(user).select_related("invoice").filter(pk=pk).first()
    if found is None:
        raise Http404("No such write-off.")
    return found


# ---------------------------------------------------------------------------------------------------------------
# Trust and reconciliation: requests, deposits, statements, statement lines, trust-bank ledger lines.
# ---------------------------------------------------------------------------------------------------------------


def reads_the_ledger(user: Person) -> bool:
    """Active billing staff who may read the ledger, trust money and reconciliation."""
    return signed_in(user) and user.is_staff and user.has_perm(VIEW_LEDGER)


def _books_id(user: Person, value: object, what: str) -> int:
    number = object_id(value, what)
    if not reads_the_ledger(user):
        raise Http404(f"No such {what}.")
    return number


def trust_requests_for_user(user: Person) -> QuerySet[TrustRequest]:
    """Every disbursement or refund request, for those who read the ledger; none for anyone else."""
    return TrustRequest.objects.all() if reads_the_ledger(user) else TrustRequest.objects.none()


def trust_deposits_for_user(user: Person) -> QuerySet[TrustDeposit]:
    """Every deposit for those who read the ledger; a client's own deposits on matters they reach."""
    if reads_the_ledger(user):
        return TrustDeposit.objects.all()
    if not signed_in(user):
        return TrustDeposit.objects.none()
    return TrustDeposit.objects.filter(client=user, matter__in=matters_for_user(user))


def bank_statements_for_user(user: Person) -> QuerySet[BankStatement]:
    return BankStatement.objects.all() if reads_the_ledger(user) else BankStatement.objects.none()


def trust_request_for_user(user: Person, request_id: object) -> TrustRequest:
    """A disbursement or refund request, with its client, matter and requester."""
    number = _books_id(user, request_id, "request")
    found = TrustRequest.objects.select_related("client", "matter", "requested_by").filter(pk=number).first()
    if found is None:
        raise Http404("No such request.")
    return found


def trust_deposit_for_user(user: Person, deposit_id: object) -> TrustDeposit:
    """Money received into trust, with its client and matter."""
    number = _books_id(user, deposit_id, "deposit")
    found = TrustDeposit.objects.select_related("client", "matter").filter(pk=number).first()
    if found is None:
        raise Http404("No such deposit.")
    return found


def bank_statement_for_user(user: Person, statement_id: object) -> BankStatement:
    """An imported statement of the trust bank account."""
    number = _books_id(user, statement_id, "statement")
    found = BankStatement.objects.select_related("account").filter(pk=number).first()
    if found is None:
        raise Http404("No such statement.")
    return found


def statement_line_for_user(user: Person, line_id: object) -> StatementLine:
    """One transaction of an imported statement, with its statement."""
    number = _books_id(user, line_id, "statement line")
    found = StatementLine.objects.select_related("statement").filter(pk=number).first()
    if found is None:
        raise Http404("No such statement line.")
    return found


def trust_bank_line_for_user(user: Person, line_id: object) -> JournalLine:
    """A ledger line of a trust bank account (what a statement line is matched to); no other account's lines."""
    number = _books_id(user, line_id, "ledger line")
    found = (
        JournalLine.objects.select_related("entry", "account")
        .filter(pk=number, account__kind=Account.Kind.TRUST_BANK)
        .first()
    )
    if found is None:
        raise Http404("No such ledger line.")
    return found


# --- Online payments (Stripe Connect) ------------------------------------------------------------------


def connected_account_for_user(user: Person, account_id: object) -> ConnectedAccount:
    """One of the firm's two connected accounts, for whoever may change the firm's settings (a firm admin)."""
    pk = object_id(account_id, "account")
    if not signed_in(user) or not user.has_perm(MANAGE_FIRM_SETTINGS):
        raise Http404("No such account.")
    account = ConnectedAccount.objects.filter(pk=pk).first()
    if account is None:
        raise Http404("No such account.")
    return account


def connected_accounts_for_user(user: Person) -> QuerySet[ConnectedAccount]:
    if not signed_in(user) or not user.has_perm(MANAGE_FIRM_SETTINGS):
        return ConnectedAccount.objects.none()
    return ConnectedAccount.objects.all()


def retainer_requests_for_user(user: Person) -> QuerySet[RetainerRequest]:
    """Every retainer request for billing staff; otherwise the user's own on the matters they reach."""
    if not signed_in(user):
        return RetainerRequest.objects.none()
    if keeps_the_books(user):
        return RetainerRequest.objects.all()
    return RetainerRequest.objects.filter(client=user, matter__in=matters_for_user(user))


def retainer_request_for_user(user: Person, retainer_id: object) -> RetainerRequest:
    pk = object_id(retainer_id, "retainer")
    retainer = retainer_requests_for_user(user).select_related("matter", "client").filter(pk=pk).first()
    if retainer is None:
        raise Http404("No such retainer request.")
    return retainer


def online_payments_for_user(user: Person) -> QuerySet[OnlinePayment]:
    """Every online payment for billing staff; otherwise the user's own on the matters they reach."""
    if not signed_in(user):
        return OnlinePayment.objects.none()
    if keeps_the_books(user):
        return OnlinePayment.objects.all()
    return OnlinePayment.objects.filter(client=user, matter__in=matters_for_user(user))


def online_payment_for_user(user: Person, payment_id: object) -> OnlinePayment:
    pk = object_id(payment_id, "payment")
    payment = (
        online_payments_for_user(user).select_related("invoice", "retainer", "matter", "account").filter(pk=pk).first()
    )
    if payment is None:
        raise Http404("No such payment.")
    return payment


def trust_card_refunds_for_user(user: Person) -> QuerySet[TrustCardRefund]:
    """Card refunds of retainers (money in trust, two approvers): for those who read the ledger; none for others."""
    return TrustCardRefund.objects.all() if reads_the_ledger(user) else TrustCardRefund.objects.none()


def trust_card_refund_for_user(user: Person, request_id: object) -> TrustCardRefund:
    """The card refund asked by trust request ``request_id`` (its approvals are the request's)."""
    number = _books_id(user, request_id, "request")
    found = (
        TrustCardRefund.objects.select_related("request", "payment", "payment__matter", "payment__client")
        .filter(request_id=number)
        .first()
    )
    if found is None:
        raise Http404("No such request.")
    return found


# --- Payment plans ----------------------------------------------------------------------------------------


def payment_plans_for_user(user: Person) -> QuerySet[PaymentPlan]:
    """Every payment plan for billing staff; otherwise the user's own, on the matters they reach."""
    if not signed_in(user):
        return PaymentPlan.objects.none()
    if keeps_the_books(user):
        return PaymentPlan.objects.all()
    return PaymentPlan.objects.filter(client=user, matter__in=matters_for_user(user))


def payment_plan_for_user(user: Person, plan_id: object) -> PaymentPlan:
    pk = object_id(plan_id, "payment plan")
    plan = payment_plans_for_user(user).select_related("invoice", "matter", "client", "account").filter(pk=pk).first()
    if plan is None:
        raise Http404("No such payment plan.")
    return plan


# --- Dispute evidence -------------------------------------------------------------------------------------


def payment_documents_for_user(user: Person, payment: OnlinePayment) -> QuerySet[Document]:
    """The documents of a payment's matter that ``user`` may give Stripe as dispute evidence: billing staff
    (who reach the payment) any of that matter's documents, nobody else any."""
    if not keeps_the_books(user):
        return Document.objects.none()
    return Document.objects.filter(matter_id=payment.matter_id).order_by("-uploaded_at", "-id")


def payment_document_for_user(user: Person, payment: OnlinePayment, document_id: object) -> Document:
    """One of those documents; 404 for missing, another matter's, malformed alike."""
    pk = object_id(document_id, "document")
    document = payment_documents_for_user(user, payment).filter(pk=pk).first()
    if document is None:
        raise Http404("No such document.")
    return document
