"""Writes on invoices: drafting, lines, issuing with a gap-free number, payments, voiding.

Every money event is one ``journal_post`` in the same transaction as the change
to the invoice, and one audit entry:

* issue: Dr receivable (client, matter) / Cr revenue per billing code;
* payment by hand: Dr operating bank / Cr receivable (trust never receives an invoice payment);
* client credit applied: Dr client credit / Cr receivable;
* void: the issue entry reversed (only while nothing was paid, credited or written off).

The invoice row is locked (``SELECT ... FOR UPDATE``) by every service that
changes its amounts, so two payments recorded at once cannot both see the old balance.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from fractions import Fraction

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from billing import events
from billing.fees.models import FeeTemplate, TimeEntry
from billing.inputs import check_amount, check_business_date
from billing.invoices.models import Invoice, InvoiceLine, NumberSequence, Payment
from billing.invoices.states import settle
from billing.ledger.accounts import account_for, default_currency
from billing.ledger.models import Account
from billing.ledger.selectors import balance, line_balance
from billing.ledger.services import Line, journal_post, journal_reverse
from billing.locks import money_transaction
from billing.money import Money, round_half_up
from core.audit.actions import AuditAction
from core.audit.services import audit_record
from core.models import Matter, User
from tenants.current import current_firm

Kind = Account.Kind
PAYMENT_DUE_DAYS = 30


def next_number(series: str) -> int:
    """The next number of ``series``, taken under a row lock held until the caller's transaction ends.

    Must run inside the transaction that uses the number: if it rolls back, the
    counter rolls back too, so no number is ever skipped.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("next_number must run inside the transaction that uses the number")
    NumberSequence.objects.get_or_create(series=series)
    counter = NumberSequence.objects.select_for_update().get(series=series)
    counter.last_value += 1
    counter.save(update_fields=["last_value"])
    return counter.last_value


def time_amount_minor(*, minutes: int, rate_minor: int) -> int:
    """``minutes / 60 x hourly rate``, rounded half-up to a whole minor unit once per time entry.

    E.g. 50 minutes at $275.00/h is 22 916.67 cents → 22 917 cents ($229.17).
    """
    return round_half_up(Fraction(minutes * rate_minor, 60))


def _locked(invoice: Invoice) -> Invoice:
    return Invoice.objects.select_for_update(of=("self",)).select_related("matter", "client").get(pk=invoice.pk)


def _require_draft(invoice: Invoice) -> None:
    if invoice.status != Invoice.Status.DRAFT:
        raise ValidationError(f"{invoice} is {invoice.get_status_display().lower()}; only a draft can change")


@money_transaction
def invoice_create(
    *,
    matter: Matter,
    by: User | None,
    currency: str | None = None,
    origin: str = Invoice.Origin.MANUAL,
    origin_detail: str = "",
) -> Invoice:
    """A new draft for ``matter``'s client. Automatic drafts wait for a partner's review."""
    invoice = Invoice.objects.create(
        matter=matter,
        client=matter.client,
        currency=currency or default_currency(),
        origin=origin,
        origin_detail=origin_detail,
        needs_review=origin != Invoice.Origin.MANUAL,
        created_by=by,
    )
    audit_record(
        AuditAction.INVOICE_DRAFT, actor=by, target=invoice, data={"matter": matter.reference, "origin": origin}
    )
    return invoice


def _add(invoice: Invoice, **fields: object) -> InvoiceLine:
    line = InvoiceLine.objects.create(invoice=invoice, **fields)
    invoice.total_minor += line.amount_minor
    invoice.save(update_fields=["total_minor"])
    return line


@money_transaction
def invoice_add_fee(*, invoice: Invoice, template: FeeTemplate, quantity: int = 1, minutes: int = 0) -> InvoiceLine:
    """A line from a fee template: a flat fee or a disbursement (x quantity), or hourly for ``minutes``."""
    invoice = _locked(invoice)
    _require_draft(invoice)
    if template.currency != invoice.currency:
        raise ValidationError(f"{template.code} is priced in {template.currency}, the invoice in {invoice.currency}")
    if quantity < 1:
        raise ValidationError("quantity must be at least 1")
    if template.kind == FeeTemplate.Kind.HOURLY:
        if minutes < 1:
            raise ValidationError("an hourly fee needs the minutes worked")
        amount = time_amount_minor(minutes=minutes, rate_minor=template.amount_minor)
        kind, quantity = InvoiceLine.Kind.TIME, 1
    else:
        amount = template.amount_minor * quantity
        kind = InvoiceLine.Kind.DISBURSEMENT if template.kind == FeeTemplate.Kind.DISBURSEMENT else InvoiceLine.Kind.FEE
    return _add(
        invoice,
        kind=kind,
        code=template.code,
        description=template.description,
        description_es=template.description_es,
        quantity=quantity,
        minutes=minutes,
        unit_minor=template.amount_minor,
        amount_minor=amount,
    )


@money_transaction
def invoice_add_time(*, invoice: Invoice, through: date | None = None) -> list[InvoiceLine]:
    """One line per unbilled time entry of the invoice's matter (worked on or before ``through``)."""
    invoice = _locked(invoice)
    _require_draft(invoice)
    entries = TimeEntry.objects.select_for_update(of=("self",)).filter(
        matter=invoice.matter, invoice_line__isnull=True, currency=invoice.currency
    )
    if through is not None:
        entries = entries.filter(worked_on__lte=through)
    lines = []
    for entry in entries.select_related("timekeeper", "fee_template"):
        template = entry.fee_template
        line = _add(
            invoice,
            kind=InvoiceLine.Kind.TIME,
            code=template.code if template else "TIME",
            description=entry.description,
            description_es=entry.description,
            minutes=entry.minutes,
            unit_minor=entry.rate_minor,
            amount_minor=time_amount_minor(minutes=entry.minutes, rate_minor=entry.rate_minor),
            timekeeper=entry.timekeeper.get_full_name(),
            worked_on=entry.worked_on,
        )
        entry.invoice_line = line
        entry.save(update_fields=["invoice_line"])
        lines.append(line)
    return lines


@money_transaction
def invoice_issue(*, invoice: Invoice, by: User | None, issued_on: date | None = None) -> Invoice:
    """Give the draft the firm's next invoice number and post it: Dr receivable, Cr revenue per billing code.

    When the firm applies trust to invoices and the client holds cleared trust
    funds on the matter, they are applied at once (``invoice_apply_trust``).
    """
    invoice = _locked(invoice)
    _require_draft(invoice)
    lines = list(invoice.lines.all())
    if not lines or invoice.total_minor <= 0:
        raise ValidationError("an invoice needs at least one line and a total above zero")
    issued_on = issued_on or timezone.localdate()
    invoice.number = next_number("invoice")
    invoice.issued_on = issued_on
    invoice.due_on = issued_on + timedelta(days=PAYMENT_DUE_DAYS)
    invoice.issued_by = by
    invoice.needs_review = False
    per_code: dict[str, int] = defaultdict(int)
    for line in lines:
        per_code[line.code] += line.amount_minor
    currency = invoice.currency
    receivable = account_for(Kind.RECEIVABLE, matter=invoice.matter, currency=currency)
    postings = [Line.debit(receivable, invoice.total)]
    for code, amount in sorted(per_code.items()):
        if amount:
            postings.append(
                Line.credit(account_for(Kind.REVENUE, billing_code=code, currency=currency), Money(amount, currency))
            )
    invoice.issue_entry = journal_post(
        kind="invoice.issue",
        lines=postings,
        memo=f"{invoice.display_number} {invoice.matter.reference}",
        by=by,
        source=invoice,
        occurred_on=issued_on,
    )
    settle(invoice, to=Invoice.Status.ISSUED)
    invoice.save()
    audit_record(
        AuditAction.INVOICE_ISSUE,
        actor=by,
        target=invoice,
        data={"number": invoice.number, "total_minor": invoice.total_minor, "currency": currency},
    )
    events.invoice_issued(invoice)
    _email_on_commit(invoice)
    from billing.trust.models import TrustSettings

    # The trust account is already ours to lock: this transaction holds the chain head (billing/locks.py).
    if TrustSettings.load().apply_trust_to_invoices:
        from billing.invoices.trust import invoice_apply_trust

        invoice_apply_trust(invoice=invoice, by=by)
    return invoice


def _email_on_commit(invoice: Invoice) -> None:
    """The client's "invoice issued" email, once the invoice is committed (in this firm's schema)."""
    from billing.invoices.mail import invoice_issued_send

    firm, invoice_id = current_firm(), invoice.pk

    def send() -> None:
        with firm:
            invoice_issued_send(invoice_id=invoice_id)

    transaction.on_commit(send)


def _payment(
    invoice: Invoice,
    *,
    method: str,
    amount_minor: int,
    received_on: date,
    reference: str,
    by: User | None,
    debit: Account,
    kind: str,
) -> Payment:
    payment = Payment.objects.create(
        invoice=invoice,
        method=method,
        amount_minor=amount_minor,
        currency=invoice.currency,
        received_on=received_on,
        reference=reference,
        recorded_by=by,
    )
    receivable = account_for(Kind.RECEIVABLE, matter=invoice.matter, currency=invoice.currency)
    payment.entry = journal_post(
        kind=kind,
        lines=[
            Line.debit(debit, Money(amount_minor, invoice.currency)),
            Line.credit(receivable, Money(amount_minor, invoice.currency)),
        ],
        memo=f"{payment.get_method_display()} for {invoice.display_number}",
        by=by,
        source=payment,
        occurred_on=received_on,
    )
    payment.save(update_fields=["entry"])
    invoice.paid_minor += amount_minor
    settle(invoice)
    invoice.save()
    audit_record(
        AuditAction.INVOICE_PAYMENT,
        actor=by,
        target=invoice,
        data={"method": method, "amount_minor": amount_minor, "reference": reference, "payment": payment.pk},
    )
    events.invoice_payment_succeeded(payment)
    return payment


PAYABLE = frozenset({Invoice.Status.ISSUED, Invoice.Status.PARTIALLY_PAID, Invoice.Status.PAID})
MANUAL_METHODS = frozenset({Payment.Method.CHECK, Payment.Method.WIRE, Payment.Method.CASH, Payment.Method.CARD})


@money_transaction
def payment_record(
    *,
    invoice: Invoice,
    method: str,
    amount: Money,
    by: User | None,
    received_on: date | None = None,
    reference: str = "",
) -> Payment:
    """A payment received by hand into the operating account.

    More than the balance due is accepted (a client who pays twice has paid
    twice): the invoice then shows a credit balance, which a credit note for
    overpayment or duplicate payment turns into client credit.
    """
    invoice = _locked(invoice)
    if invoice.status not in PAYABLE:
        raise ValidationError(f"{invoice} is {invoice.get_status_display().lower()} and takes no payment")
    if method not in MANUAL_METHODS:
        raise ValidationError(f"{method!r} is not a payment recorded by hand")
    if amount.currency != invoice.currency or amount.minor <= 0:
        raise ValidationError(f"a payment is a positive amount in {invoice.currency}")
    check_amount(amount, currency=invoice.currency)
    operating = account_for(Kind.OPERATING_BANK, currency=invoice.currency)
    return _payment(
        invoice,
        method=method,
        amount_minor=amount.minor,
        received_on=check_business_date(received_on or timezone.localdate(), field="received_on"),
        reference=reference,
        by=by,
        debit=operating,
        kind="invoice.payment",
    )


def client_credit_balance(*, client: User, currency: str) -> Money:
    return balance(account_for(Kind.CLIENT_CREDIT, client=client, currency=currency))


@money_transaction
def client_credit_apply(*, invoice: Invoice, by: User | None, amount: Money | None = None) -> Payment | None:
    """Use the client's credit (from earlier credit notes) toward this invoice; None when there is none."""
    invoice = _locked(invoice)
    if invoice.status not in (Invoice.Status.ISSUED, Invoice.Status.PARTIALLY_PAID):
        raise ValidationError(f"{invoice} has nothing due")
    credit_account = Account.objects.select_for_update(no_key=True).get(
        pk=account_for(Kind.CLIENT_CREDIT, client=invoice.client, currency=invoice.currency).pk
    )
    available = line_balance(credit_account).minor
    wanted = invoice.balance_due_minor if amount is None else amount.minor
    applied = min(available, wanted, invoice.balance_due_minor)
    if applied <= 0:
        return None
    return _payment(
        invoice,
        method=Payment.Method.CREDIT,
        amount_minor=applied,
        received_on=timezone.localdate(),
        reference="client credit",
        by=by,
        debit=credit_account,
        kind="invoice.credit_applied",
    )


@money_transaction
def invoice_void(*, invoice: Invoice, by: User | None, reason: str) -> Invoice:
    """Void a draft, or an issued invoice nothing was paid, credited or written off against.

    An issued invoice keeps its number (numbering stays gap-free) and its issue
    entry is reversed by a new entry.
    """
    invoice = _locked(invoice)
    if not reason.strip():
        raise ValidationError("say why the invoice is void")
    if invoice.status == Invoice.Status.ISSUED and (
        invoice.paid_minor or invoice.credited_minor or invoice.written_off_minor
    ):
        raise ValidationError(f"{invoice} has payments or adjustments; issue a credit note instead")
    settle(invoice, to=Invoice.Status.VOID)
    if invoice.issue_entry is not None:
        journal_reverse(entry=invoice.issue_entry, by=by, memo=f"{invoice.display_number} void: {reason}")
    invoice.void_reason = reason
    invoice.needs_review = False
    invoice.save()
    audit_record(AuditAction.INVOICE_VOID, actor=by, target=invoice, data={"number": invoice.number, "reason": reason})
    return invoice
