"""Tiered reminders: which tier is due on which open invoice, firing it once, and sending it.

* ``reminders_due(*, today)`` — (invoice id, tier id) pairs whose day has come
  (due date + the tier's offset) and that have not fired: a tier added later
  applies to the invoices already open.
* ``reminder_fire(*, invoice_id, tier_id, today)`` — under the invoice's row lock,
  checks the skipping rules again and writes the one ``ReminderSent`` row of
  (invoice, tier), with a collections task when the tier asks for one, and queues
  the send when that transaction commits (``transaction.on_commit``). Two
  fan-outs at once: the second waits for the lock, then finds the row (and the
  unique constraint stands behind that).
* ``skip_reason(invoice)`` — why no reminder goes out now: paid (or
  otherwise closed), the client paused by staff, a card dispute on the invoice,
  a payment plan (``under_payment_plan``), a reminder within the firm's quiet days.
  A skipped tier is looked at again at the next run.
* ``reminder_deliver(*, sent)`` — the email in the client's language with the
  invoice PDF, an absolute link to the invoice in the client portal and, when
  the firm takes card payments, the page to pay it; the escalation to the
  partners. Sent at most once: a delivered row is never sent again.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from django.contrib.auth.models import Group
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from billing.collections.models import CollectionsSettings, ReminderPause, ReminderSent, ReminderTier
from billing.invoices.models import Invoice
from billing.invoices.pdf import invoice_pdf, invoice_pdf_filename
from billing.locks import money_transaction
from billing.stripe.models import OnlinePayment, PaymentPlan
from billing.stripe.selectors import invoice_pay_link
from billing.trust.models import BillingTask
from core.mail import firm_link, firm_sender
from core.roles import Role
from tenants.db import tenant_connection

OPEN = (Invoice.Status.ISSUED, Invoice.Status.PARTIALLY_PAID)
PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def under_payment_plan(invoice: Invoice) -> bool:
    """Whether the invoice is being paid under an agreed plan (``billing.stripe.plans``): such invoices get no
    reminder while the plan is active. An offer not yet accepted, or a plan that failed, does not hold them back."""
    return PaymentPlan.objects.filter(invoice=invoice, status=PaymentPlan.Status.ACTIVE).exists()


def _open() -> Q:
    return Q(status__in=OPEN) & Q(
        total_minor__gt=F("paid_minor") + F("credited_minor") + F("written_off_minor") - F("to_client_credit_minor")
    )


def reminders_due(*, today: date) -> list[tuple[int, int]]:
    """(invoice id, tier id) for every active tier whose day has come on an open invoice it has not fired on."""
    due: list[tuple[int, int]] = []
    paused = ReminderPause.objects.values("client_id")
    for tier in ReminderTier.objects.filter(active=True):
        invoices = (
            Invoice.objects.filter(_open(), due_on__lte=today - timedelta(days=tier.offset_days))
            .exclude(client_id__in=paused)
            .exclude(reminders__tier=tier)
            .order_by("due_on", "id")
            .values_list("id", flat=True)
        )
        due += [(invoice_id, tier.pk) for invoice_id in invoices]
    return due


def skip_reason(invoice: Invoice) -> str:
    """Why no reminder should go out on ``invoice`` now ('' when one may)."""
    if invoice.status not in OPEN or invoice.balance_due_minor <= 0:
        return "paid or closed"
    if ReminderPause.objects.filter(client_id=invoice.client_id).exists():
        return "reminders paused for the client"
    if OnlinePayment.objects.filter(invoice=invoice, status=OnlinePayment.Status.DISPUTED).exists():
        return "disputed"
    if under_payment_plan(invoice):
        return "under a payment plan"
    quiet = CollectionsSettings.load().quiet_days
    if quiet:
        since = timezone.now() - timedelta(days=quiet)
        recent = ReminderSent.objects.filter(invoice=invoice, fired_at__gte=since).exclude(
            status=ReminderSent.Status.SKIPPED
        )
        if recent.exists():
            return f"a reminder went out in the last {quiet} days"
    return ""


def _task(invoice: Invoice, tier: ReminderTier, kind: str) -> None:
    BillingTask.objects.create(
        kind=kind,
        client=invoice.client,
        matter=invoice.matter,
        message=f"{tier.name}: {invoice.display_number} ({invoice.balance_due.format()} due since "
        f"{invoice.due_on:%Y-%m-%d}) — follow up with {invoice.client.get_full_name()}."[:500],
    )


@money_transaction
def reminder_fire(*, invoice_id: int, tier_id: int, today: date) -> ReminderSent | None:
    """Fire ``tier`` on the invoice once: the row, its task, and its send queued on commit. None when not now."""
    invoice = Invoice.objects.select_for_update(of=("self",)).select_related("client", "matter").get(pk=invoice_id)
    tier = ReminderTier.objects.filter(pk=tier_id, active=True).first()
    if tier is None or invoice.due_on is None or invoice.due_on + timedelta(days=tier.offset_days) > today:
        return None
    if ReminderSent.objects.filter(invoice=invoice, tier=tier).exists() or skip_reason(invoice):
        return None
    try:
        with transaction.atomic():
            sent = ReminderSent.objects.create(
                invoice=invoice, tier=tier, language=invoice.client.preferred_language or "en"
            )
    except IntegrityError:  # fired by another run that committed in between
        return None
    if tier.create_task:
        _task(invoice, tier, BillingTask.Kind.COLLECTIONS)
    if tier.escalate_to_partner:
        _task(invoice, tier, BillingTask.Kind.PARTNER_ESCALATION)
    from billing.collections.tasks import send_reminder

    transaction.on_commit(lambda: send_reminder.delay(sent.pk))
    return sent


def reminders_fire_due(*, today: date | None = None) -> list[ReminderSent]:
    """Fire every tier that is due in this firm now (each in its own transaction); returns what fired."""
    today = today or timezone.localdate()
    fired = []
    for invoice_id, tier_id in reminders_due(today=today):
        sent = reminder_fire(invoice_id=invoice_id, tier_id=tier_id, today=today)
        if sent is not None:
            fired.append(sent)
    return fired


# --- Sending ----------------------------------------------------------------------------------------------


def _fill(template: str, values: dict[str, str]) -> str:
    """``{name}`` placeholders replaced from ``values``; anything else is left as typed (nothing is evaluated)."""
    return PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), template)


def pay_link(invoice: Invoice) -> str:
    """The invoice's payment link, or '' when the firm takes no card payments."""
    return invoice_pay_link(invoice)


def invoice_link(invoice: Invoice) -> str:
    """The invoice in the client portal, as an absolute address on the firm's site."""
    return firm_link(reverse("invoicing:client_invoice_pdf", kwargs={"invoice_id": invoice.pk}))


def _values(invoice: Invoice, language: str, today: date) -> dict[str, str]:
    from babel.dates import format_date

    due_on = invoice.due_on or today
    return {
        "client": invoice.client.get_full_name(),
        "invoice": invoice.display_number,
        "matter": invoice.matter.reference,
        "due_on": format_date(due_on, format="long", locale=language),
        "balance": invoice.balance_due.format(language),
        "days_overdue": str(max(0, (today - due_on).days)),
        "firm": getattr(tenant_connection().tenant, "name", ""),
        "link": invoice_link(invoice),
        "pay_link": pay_link(invoice),
    }


def client_message(sent: ReminderSent, *, today: date) -> EmailMessage:
    """The reminder to the client, in their language, with the invoice attached and the links at the end."""
    invoice, tier, language = sent.invoice, sent.tier, sent.language
    with translation.override(language):
        values = _values(invoice, language, today)
        body = _fill(tier.body_in(language), values)
        body += "\n\n" + _("See the invoice: %(link)s") % {"link": values["link"]}
        if values["pay_link"]:
            body += "\n" + _("Pay online: %(link)s") % {"link": values["pay_link"]}
        message = EmailMessage(
            subject=_fill(tier.subject_in(language), values),
            body=body,
            from_email=firm_sender(),
            to=[invoice.client.email],
        )
    message.attach(invoice_pdf_filename(invoice), invoice_pdf(invoice, language=language), "application/pdf")
    return message


def partner_messages(sent: ReminderSent, *, today: date) -> list[EmailMessage]:
    """The escalation, to each of the firm's active partners in their own language."""
    partners = Group.objects.get(name=Role.PARTNER.value).user_set.filter(is_active=True).order_by("pk")
    messages = []
    for partner in partners:
        language = partner.preferred_language or "en"
        with translation.override(language):
            values = _values(sent.invoice, language, today)
            link = firm_link(reverse("invoicing:invoice_reminders", kwargs={"invoice_id": sent.invoice_id}))
            messages.append(
                EmailMessage(
                    subject=_fill(sent.tier.subject_in(language), values),
                    body=_fill(sent.tier.body_in(language), values) + f"\n\n{link}",
                    from_email=firm_sender(),
                    to=[partner.email],
                )
            )
    return messages


@transaction.atomic
def reminder_deliver(*, sent: ReminderSent, today: date | None = None) -> ReminderSent:
    """Send a queued reminder (once: the row is locked and marked sent in the same transaction)."""
    today = today or timezone.localdate()
    sent = ReminderSent.objects.select_for_update(of=("self",)).select_related("tier").get(pk=sent.pk)
    if sent.status != ReminderSent.Status.QUEUED:
        return sent
    invoice = Invoice.objects.select_related("client", "matter").get(pk=sent.invoice_id)
    sent.invoice = invoice
    if invoice.status not in OPEN or invoice.balance_due_minor <= 0:
        sent.status, sent.note = ReminderSent.Status.SKIPPED, "paid before it was sent"
        sent.save(update_fields=["status", "note"])
        return sent
    messages = [client_message(sent, today=today)] if sent.tier.email_client else []
    escalations = partner_messages(sent, today=today) if sent.tier.escalate_to_partner else []
    for message in [*messages, *escalations]:
        message.send()
    sent.status, sent.sent_at = ReminderSent.Status.SENT, timezone.now()
    sent.recipients = _recipients(client=bool(messages), partners=len(escalations))
    sent.save(update_fields=["status", "sent_at", "recipients"])
    return sent


def _recipients(*, client: bool, partners: int) -> str:
    """Who was written to, without their addresses (the row outlives a client's erasure of identity fields)."""
    parts = ["the client"] if client else []
    if partners:
        parts.append(f"{partners} partner{'s' if partners != 1 else ''}")
    return ", ".join(parts)
