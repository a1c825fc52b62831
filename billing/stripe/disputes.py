"""Card disputes (chargebacks) on online payments: opened, then closed won or lost.

``dispute_created``: Stripe has taken the amount back from the account it was
charged on. Trust: that client's trust ledger gives back what it holds of the
payment, never more (never a negative balance, never another client's money);
what the client no longer holds is a loss of the firm (operating expense) and a
replenishment task to deposit it from operating into trust. Invoice: revenue
gives it back. Stripe's dispute fee is an operating expense (``billing.stripe.fees``;
billed to the platform for a trust charge).

``dispute_closed``: won, the money returns to the books it came from, in the
same two parts (that client's trust ledger for what it gave, the firm's loss
reversed for the rest; revenue for an invoice); lost, it stays out. A close
seen before its opening posts the opening first.

Each dispute is also a ``CardDispute`` row (Stripe's state, reason, amount, the
evidence due date), kept in step by the dispute events. From the payment's page,
staff answer it: ``dispute_evidence_submit`` (a text and one of the matter's
documents, uploaded to Stripe as a file, then Stripe's dispute update with
``submit``) or ``dispute_accept`` (Stripe's close: the firm does not contest it; the
ledger already gave the money back, and ``charge.dispute.closed`` marks it lost).
Both calls are on the payment's own connected account, under keys saved first.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.ledger.accounts import account_for
from billing.ledger.models import Account
from billing.ledger.selectors import line_balance
from billing.ledger.services import Line, journal_post
from billing.money import Money
from billing.stripe import gateway
from billing.stripe.fees import dispute_fees, fee_post
from billing.stripe.models import CardDispute, OnlinePayment, PlatformFee
from billing.trust.models import BillingTask
from core.audit.actions import AuditAction
from core.audit.services import audit_record
from core.models import Document, User
from residency.storage import client_files

Kind = Account.Kind
Outcome = OnlinePayment.DisputeOutcome


def _remember(payment: OnlinePayment, obj: dict[str, Any]) -> CardDispute | None:
    """The dispute's row, made or brought up to what ``obj`` (Stripe's dispute) says."""
    dispute_id = str(obj.get("id") or "")
    if not dispute_id:
        return None
    due = (obj.get("evidence_details") or {}).get("due_by")
    values = {
        "amount_minor": int(obj.get("amount") or 0),
        "currency": str(obj.get("currency") or payment.currency).upper(),
        "reason": str(obj.get("reason") or "")[:64],
        "status": str(obj.get("status") or "")[:32],
        "evidence_due_by": datetime.fromtimestamp(int(due), tz=UTC) if isinstance(due, int) else None,
    }
    row = CardDispute.objects.select_for_update().filter(dispute_id=dispute_id).first()
    if row is None:
        return CardDispute.objects.create(payment=payment, dispute_id=dispute_id, **values)
    if row.payment_id != payment.pk:
        return None
    for name, value in values.items():
        setattr(row, name, value)
    row.save(update_fields=list(values))
    return row


def dispute_updated(payment: OnlinePayment, obj: dict[str, Any]) -> str:
    """``charge.dispute.updated`` (evidence taken, under review, a new due date): the row follows Stripe."""
    if payment.status == OnlinePayment.Status.STARTED:
        return "later"
    return "applied" if _remember(payment, obj) is not None else "ignored"


def dispute_created(payment: OnlinePayment, obj: dict[str, Any]) -> str:
    if payment.status == OnlinePayment.Status.STARTED:
        return "later"
    _remember(payment, obj)
    if payment.disputed_minor:
        return "duplicate"  # one dispute per charge at Stripe
    disputed = min(int(obj.get("amount") or 0), payment.amount_minor - payment.refunded_minor)
    if disputed <= 0:
        return "duplicate"
    amount = Money(disputed, payment.currency)
    held = disputed
    if payment.purpose == OnlinePayment.Purpose.INVOICE:
        lines = [
            Line.debit(account_for(Kind.REVENUE, currency=amount.currency), amount),
            Line.credit(account_for(Kind.OPERATING_BANK, currency=amount.currency), amount),
        ]
    else:
        client_trust = _client_trust(payment)
        held = max(0, min(line_balance(client_trust).minor, disputed))
        lines = [Line.credit(account_for(Kind.TRUST_BANK, currency=amount.currency), amount)]
        if held:
            lines.append(Line.debit(client_trust, Money(held, amount.currency)))
        if disputed - held:
            short = Money(disputed - held, amount.currency)
            lines.append(Line.debit(account_for(Kind.PROCESSOR_FEES, currency=amount.currency), short))
            _replenish_task(payment, amount=amount, held=Money(held, amount.currency), short=short, dispute=obj)
    journal_post(
        kind="payment.dispute",
        lines=lines,
        memo=f"Card dispute {obj.get('id')} ({obj.get('reason') or 'no reason given'}) on {payment.payment_intent_id}",
        by=None,
        source=payment,
    )
    for fee in dispute_fees(obj):
        fee_post(payment, kind=PlatformFee.Kind.DISPUTE, fee=fee)
    payment.disputed_minor = disputed
    payment.dispute_held_minor = held
    payment.status = OnlinePayment.Status.DISPUTED
    payment.save(update_fields=["disputed_minor", "dispute_held_minor", "status"])
    return "applied"


def dispute_closed(payment: OnlinePayment, obj: dict[str, Any]) -> str:
    if payment.status == OnlinePayment.Status.STARTED:
        return "later"
    _remember(payment, obj)
    if payment.dispute_outcome:
        return "duplicate"
    if str(obj.get("status")) not in ("won", "lost"):
        return "ignored"  # e.g. an inquiry closed with a warning: no money moved
    if not payment.disputed_minor and dispute_created(payment, obj) != "applied":
        return "duplicate"  # nothing was (or could be) taken: nothing to give back
    if obj["status"] == "lost":
        payment.dispute_outcome = Outcome.LOST
        payment.save(update_fields=["dispute_outcome"])
        return "applied"
    amount = Money(payment.disputed_minor, payment.currency)
    if payment.purpose == OnlinePayment.Purpose.INVOICE:
        lines = [
            Line.debit(account_for(Kind.OPERATING_BANK, currency=amount.currency), amount),
            Line.credit(account_for(Kind.REVENUE, currency=amount.currency), amount),
        ]
    else:
        held = Money(payment.dispute_held_minor, amount.currency)
        lines = [Line.debit(account_for(Kind.TRUST_BANK, currency=amount.currency), amount)]
        if held:
            lines.append(Line.credit(_client_trust(payment), held))
        if amount - held:
            lines.append(Line.credit(account_for(Kind.PROCESSOR_FEES, currency=amount.currency), amount - held))
    journal_post(
        kind="payment.dispute.won",
        lines=lines,
        memo=f"Card dispute {obj.get('id')} won on {payment.payment_intent_id}: the money is back",
        by=None,
        source=payment,
    )
    payment.dispute_outcome = Outcome.WON
    payment.status = (
        OnlinePayment.Status.REFUNDED
        if payment.refunded_minor == payment.amount_minor
        else OnlinePayment.Status.SUCCEEDED
    )
    payment.save(update_fields=["dispute_outcome", "status"])
    return "applied"


def _client_trust(payment: OnlinePayment) -> Account:
    opened = account_for(Kind.CLIENT_TRUST, client=payment.client, matter=payment.matter)
    return Account.objects.select_for_update(no_key=True).get(pk=opened.pk)


def _replenish_task(
    payment: OnlinePayment, *, amount: Money, held: Money, short: Money, dispute: dict[str, Any]
) -> None:
    """The firm's task to cover from operating what a trust dispute took beyond what the client held."""
    task = BillingTask.objects.create(
        kind=BillingTask.Kind.TRUST_REPLENISH,
        client=payment.client,
        matter=payment.matter,
        message=f"A card dispute took {amount.format()} from the trust account for {payment.matter.reference}; "
        f"the client held {held.format()} of it. Deposit {short.format()} from operating into trust.",
    )
    audit_record(
        AuditAction.TRUST_LOW_BALANCE,
        target=task,
        data={"matter": payment.matter.reference, "short_minor": short.minor, "dispute": dispute.get("id")},
    )


# --- Staff answer a dispute -----------------------------------------------------------------------------------


def payment_dispute(payment: OnlinePayment) -> CardDispute | None:
    """The payment's dispute, the newest (Stripe allows one per charge)."""
    return payment.disputes.select_related("evidence_document").first()


def _key(what: str) -> str:
    return f"portico-{what}-{uuid.uuid4().hex}"


def _saved_key(dispute: CardDispute, field: str, what: str) -> str:
    """The dispute's key for ``field``, made and committed now if it has none (a retry sends the same one)."""
    with transaction.atomic():
        locked = CardDispute.objects.select_for_update().get(pk=dispute.pk)
        if not getattr(locked, field):
            setattr(locked, field, _key(what))
            locked.save(update_fields=[field])
    setattr(dispute, field, getattr(locked, field))
    return str(getattr(locked, field))


def _answerable(dispute: CardDispute) -> str:
    if not dispute.open:
        raise ValidationError(
            _("This dispute is %(state)s: Stripe takes no answer to it now.") % {"state": dispute.status_label.lower()}
        )
    account_id = dispute.payment.account.stripe_account_id
    assert account_id, "a disputed payment was charged on an account that exists at Stripe"
    return account_id


def _follow(dispute: CardDispute, answer: dict[str, Any], **done: object) -> None:
    with transaction.atomic():
        locked = CardDispute.objects.select_for_update().get(pk=dispute.pk)
        locked.status = str(answer.get("status") or locked.status)[:32]
        for name, value in done.items():
            setattr(locked, name, value)
        locked.save(update_fields=["status", *done])
    for name in ("status", *done):
        setattr(dispute, name, getattr(locked, name))


def dispute_evidence_submit(*, dispute: CardDispute, text: str, document: Document | None, by: User) -> CardDispute:
    """Send Stripe the firm's evidence (the text, and the matter's ``document`` as a file) and submit it."""
    text = text.strip()
    if not text:
        raise ValidationError(_("Write the firm's answer to the dispute."))
    if document is not None and document.matter_id != dispute.payment.matter_id:
        raise ValidationError(_("The document must be one of this payment's matter."))
    account_id = _answerable(dispute)
    file_id = dispute.evidence_file_id if document is not None and dispute.evidence_document_id == document.pk else ""
    if document is not None and not file_id:
        with transaction.atomic():
            CardDispute.objects.filter(pk=dispute.pk).update(evidence_document=document, file_idempotency_key="")
        dispute.file_idempotency_key = ""
        with client_files.open(document.storage_name) as stored:
            content = stored.read()
        file_id = gateway.dispute_file_upload(
            account_id=account_id,
            filename=document.original_filename or f"evidence-{document.pk}",
            content=content,
            content_type=document.content_type,
            idempotency_key=_saved_key(dispute, "file_idempotency_key", "dispute-file"),
        )
        _follow(dispute, {}, evidence_document=document, evidence_file_id=file_id)
    answer = gateway.dispute_update(
        account_id=account_id,
        dispute_id=dispute.dispute_id,
        text=text,
        file_id=file_id,
        submit=True,
        idempotency_key=_saved_key(dispute, "submit_idempotency_key", "dispute-evidence"),
    )
    _follow(dispute, answer, evidence_text=text, submitted_at=timezone.now(), submitted_by=by)
    audit_record(
        AuditAction.STRIPE_DISPUTE_EVIDENCE,
        actor=by,
        target=dispute.payment,
        data={
            "dispute": dispute.dispute_id,
            "document": document.pk if document is not None else None,
            "file": file_id,
            "status": dispute.status,
        },
    )
    return dispute


def dispute_accept(*, dispute: CardDispute, by: User) -> CardDispute:
    """Accept the dispute (Stripe's close): the firm does not contest it, and the cardholder keeps the money."""
    account_id = _answerable(dispute)
    answer = gateway.dispute_close(
        account_id=account_id,
        dispute_id=dispute.dispute_id,
        idempotency_key=_saved_key(dispute, "close_idempotency_key", "dispute-close"),
    )
    _follow(dispute, answer, accepted_at=timezone.now(), accepted_by=by)
    audit_record(
        AuditAction.STRIPE_DISPUTE_ACCEPT,
        actor=by,
        target=dispute.payment,
        data={"dispute": dispute.dispute_id, "amount_minor": dispute.amount_minor, "status": dispute.status},
    )
    return dispute
