"""Payment plans: an open invoice paid in installments off a card the client saved for it.

* ``plan_offer(*, invoice, installments, interval, first_due_on, by)`` — billing staff
  offer a plan: the balance split into integer minor units that add up to it exactly
  (the remainder on the last installment), weekly or monthly from the first date.
* ``plan_accept(*, plan, by)`` — the client accepts: a Customer and a SetupIntent for
  off-session use on the firm's *operating* account (invoices are earned fees); the
  browser confirms it with the card (Stripe.js), and ``plan_setup_refresh`` reads it
  back from Stripe: once it has succeeded the plan is active.
* ``installments_charge_due(*, today)`` — the scheduled job, per firm: one off-session
  PaymentIntent per due installment (``confirm=true``, the saved card, a direct charge
  on the operating account). The ledger follows the signed ``payment_intent.succeeded``
  event, as for any online invoice payment (``billing.stripe.webhooks``), through the
  installment's ``OnlinePayment``. A decline is retried ``RETRY_DAYS`` after each
  failed attempt, and the client gets a notice in their language each time; after
  the last retry the plan fails and billing staff get a task.
* ``plan_cancel(*, plan, by, reason)`` — staff stop a plan; nothing more is charged.

Idempotency: every key is saved on a committed row before its call. An installment's
charge first commits its key with the state "charging" (a crash after that replays the
same key: Stripe answers the first charge), then holds the installment's row lock
across the call (``skip_locked``: a second run of the job at the same time skips it),
so one key is sent once however often the job runs.
"""

from __future__ import annotations

import calendar
import logging
import uuid
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q, Sum
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from billing.invoices.models import Invoice
from billing.stripe import gateway
from billing.stripe.models import ConnectedAccount, OnlinePayment, PaymentPlan, PlanInstallment
from billing.stripe.services import PAYABLE_ONLINE
from billing.trust.models import BillingTask
from core.audit.actions import AuditAction
from core.audit.services import audit_record
from core.mail import firm_link, firm_sender
from core.models import User
from tenants.current import current_firm
from tenants.db import tenant_connection

logger = logging.getLogger(__name__)

MAX_INSTALLMENTS = 24
# Days after a declined attempt when the next one is made; after the last of these fails, the plan fails.
RETRY_DAYS = (1, 3, 7)
LIVE = (PaymentPlan.Status.PROPOSED, PaymentPlan.Status.ACTIVE)
Status = PlanInstallment.Status


def _key(what: str) -> str:
    return f"portico-{what}-{uuid.uuid4().hex}"


# --- The schedule -------------------------------------------------------------------------------------------


def plan_amounts(total_minor: int, count: int) -> list[int]:
    """``count`` installments in minor units that add up to ``total_minor`` exactly; the remainder on the last."""
    if count < 1 or total_minor < count:
        raise ValueError("every installment must be at least one minor unit")
    each = total_minor // count
    return [each] * (count - 1) + [total_minor - each * (count - 1)]


def _add_months(start: date, months: int) -> date:
    month = start.month - 1 + months
    year, month = start.year + month // 12, month % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def plan_dates(first_due_on: date, interval: str, count: int) -> list[date]:
    """The due dates: weekly, or monthly on the first date's day (the month's last day when it is shorter)."""
    if interval == PaymentPlan.Interval.WEEKLY:
        return [first_due_on + timedelta(weeks=n) for n in range(count)]
    return [_add_months(first_due_on, n) for n in range(count)]


# --- Offering, accepting, cancelling -------------------------------------------------------------------------


def _operating() -> ConnectedAccount:
    account = ConnectedAccount.objects.filter(
        kind=ConnectedAccount.Kind.OPERATING, status=ConnectedAccount.Status.ENABLED
    ).first()
    if account is None or not account.stripe_account_id:
        raise ValidationError(_("Online payment is not available yet. Please contact the firm to pay."))
    return account


@transaction.atomic
def plan_offer(*, invoice: Invoice, installments: int, interval: str, first_due_on: date, by: User) -> PaymentPlan:
    """Offer the invoice's client a plan over what remains due (one live plan per invoice)."""
    invoice = Invoice.objects.select_for_update(of=("self",)).select_related("client", "matter").get(pk=invoice.pk)
    if invoice.status not in PAYABLE_ONLINE or invoice.balance_due_minor <= 0:
        raise ValidationError("Only an issued invoice with a balance due can be paid in installments.")
    if not 2 <= installments <= MAX_INSTALLMENTS:
        raise ValidationError(f"A plan has between 2 and {MAX_INSTALLMENTS} installments.")
    if interval not in PaymentPlan.Interval.values:
        raise ValidationError("Choose weekly or monthly installments.")
    if first_due_on < timezone.localdate():
        raise ValidationError("The first installment cannot be due in the past.")
    if PaymentPlan.objects.filter(invoice=invoice, status__in=LIVE).exists():
        raise ValidationError("This invoice already has a plan offered or running; cancel it first.")
    _operating()
    try:
        amounts = plan_amounts(invoice.balance_due_minor, installments)
    except ValueError as exc:
        raise ValidationError("The balance is too small for that many installments.") from exc
    plan = PaymentPlan.objects.create(
        invoice=invoice,
        client=invoice.client,
        matter=invoice.matter,
        total_minor=invoice.balance_due_minor,
        currency=invoice.currency,
        installment_count=installments,
        interval=interval,
        first_due_on=first_due_on,
        offered_by=by,
    )
    dates = plan_dates(first_due_on, interval, installments)
    PlanInstallment.objects.bulk_create(
        PlanInstallment(
            plan=plan, number=n, due_on=day, next_attempt_on=day, amount_minor=amount, currency=invoice.currency
        )
        for n, (day, amount) in enumerate(zip(dates, amounts, strict=True), 1)
    )
    audit_record(
        AuditAction.PAYMENT_PLAN_OFFER,
        actor=by,
        target=plan,
        data={
            "invoice": invoice.display_number,
            "total_minor": plan.total_minor,
            "currency": plan.currency,
            "installments": installments,
            "interval": interval,
            "first_due_on": first_due_on.isoformat(),
        },
    )
    return plan


def _saved_key(plan: PaymentPlan, field: str, what: str) -> str:
    """The plan's idempotency key for ``field``, made and committed now if it has none yet."""
    with transaction.atomic():
        locked = PaymentPlan.objects.select_for_update(of=("self",)).get(pk=plan.pk)
        if not getattr(locked, field):
            setattr(locked, field, _key(what))
            locked.save(update_fields=[field])
    setattr(plan, field, getattr(locked, field))
    return str(getattr(locked, field))


def _customer(plan: PaymentPlan, account: ConnectedAccount) -> str:
    """The client's Customer on the operating account: one made for an earlier plan, or a new one."""
    earlier = (
        PaymentPlan.objects.filter(client=plan.client, account=account)
        .exclude(customer_id="")
        .values_list("customer_id", flat=True)
        .first()
    )
    if earlier:
        return earlier
    assert account.stripe_account_id is not None
    client = plan.client
    return gateway.customer_create(
        account_id=account.stripe_account_id,
        email=client.email,
        name=client.get_full_name(),
        language=client.preferred_language or "en",
        metadata={"portico_firm": current_firm().schema_name, "portico_client": str(client.pk)},
        idempotency_key=_saved_key(plan, "customer_idempotency_key", "customer"),
    )


def plan_accept(*, plan: PaymentPlan, by: User) -> gateway.Setup:
    """The client accepts the offer: a SetupIntent (off-session use) on the operating account, for Stripe.js.

    Asked again (the client came back, or the card form was left), the same SetupIntent
    is reused while Stripe still waits for a card; a cancelled one is replaced.
    """
    if plan.client_id != by.pk:
        raise ValidationError(_("Only the client can accept this payment plan."))
    if plan.status != PaymentPlan.Status.PROPOSED:
        raise ValidationError(_("This payment plan is no longer open to accept."))
    account = plan.account or _operating()
    assert account.stripe_account_id is not None
    if plan.setup_intent_id:
        setup = gateway.setup_intent_retrieve(
            account_id=account.stripe_account_id, setup_intent_id=plan.setup_intent_id
        )
        if setup.status == "succeeded":
            _activate(plan, setup)
            return setup
        if setup.status != "canceled":
            return setup
        with transaction.atomic():  # a new SetupIntent needs a new key
            PaymentPlan.objects.filter(pk=plan.pk).update(setup_intent_id="", setup_idempotency_key="")
        plan.setup_intent_id = plan.setup_idempotency_key = ""
    if not plan.customer_id:
        customer_id = _customer(plan, account)
        with transaction.atomic():
            PaymentPlan.objects.filter(pk=plan.pk).update(account=account, customer_id=customer_id)
        plan.account, plan.customer_id = account, customer_id
    setup = gateway.payment_plan_start(
        account_id=account.stripe_account_id,
        customer_id=plan.customer_id,
        metadata={"portico_firm": current_firm().schema_name, "portico_plan": str(plan.pk)},
        idempotency_key=_saved_key(plan, "setup_idempotency_key", "setup"),
    )
    with transaction.atomic():
        PaymentPlan.objects.filter(pk=plan.pk).update(setup_intent_id=setup.setup_intent_id)
    plan.setup_intent_id = setup.setup_intent_id
    return setup


def plan_setup_refresh(*, plan: PaymentPlan) -> PaymentPlan:
    """Read the plan's SetupIntent back from Stripe; the plan becomes active once the card is saved."""
    if plan.status != PaymentPlan.Status.PROPOSED or not plan.setup_intent_id or plan.account is None:
        return plan
    assert plan.account.stripe_account_id is not None
    setup = gateway.setup_intent_retrieve(
        account_id=plan.account.stripe_account_id, setup_intent_id=plan.setup_intent_id
    )
    if setup.status == "succeeded":
        _activate(plan, setup)
    return plan


@transaction.atomic
def _activate(plan: PaymentPlan, setup: gateway.Setup) -> None:
    locked = PaymentPlan.objects.select_for_update(of=("self",)).get(pk=plan.pk)
    if locked.status != PaymentPlan.Status.PROPOSED or not setup.payment_method_id:
        return
    locked.status, locked.payment_method_id, locked.accepted_at = (
        PaymentPlan.Status.ACTIVE,
        setup.payment_method_id,
        timezone.now(),
    )
    locked.save(update_fields=["status", "payment_method_id", "accepted_at"])
    audit_record(
        AuditAction.PAYMENT_PLAN_ACCEPT,
        actor=locked.client,
        target=locked,
        data={
            "setup_intent": setup.setup_intent_id,
            "customer": locked.customer_id,
            "account_kind": ConnectedAccount.Kind.OPERATING,
        },
    )
    plan.status, plan.payment_method_id, plan.accepted_at = locked.status, locked.payment_method_id, locked.accepted_at


@transaction.atomic
def plan_cancel(*, plan: PaymentPlan, by: User, reason: str) -> PaymentPlan:
    """Stop a plan: the installments not yet charged are cancelled (one being charged right now finishes)."""
    plan = PaymentPlan.objects.select_for_update(of=("self",)).get(pk=plan.pk)
    if plan.status not in LIVE:
        raise ValidationError("Only an offered or active plan can be cancelled.")
    _end(plan, PaymentPlan.Status.CANCELLED, reason or "cancelled by staff")
    audit_record(AuditAction.PAYMENT_PLAN_CANCEL, actor=by, target=plan, data={"reason": plan.end_reason})
    return plan


def _end(plan: PaymentPlan, status: str, reason: str) -> None:
    plan.installments.filter(status__in=[Status.SCHEDULED, Status.RETRYING]).update(status=Status.CANCELLED)
    plan.status, plan.ended_at, plan.end_reason = status, timezone.now(), reason[:300]
    plan.save(update_fields=["status", "ended_at", "end_reason"])


# --- Charging the installments (the scheduled job) -------------------------------------------------------------


def installments_due(*, today: date) -> list[int]:
    """Installments of active plans whose (next) attempt is due, and any charge a crash left in flight (replayed
    under its key even if the plan was cancelled since: Stripe may have charged it, and its answer is recorded)."""
    due = Q(plan__status=PaymentPlan.Status.ACTIVE, status__in=[Status.SCHEDULED, Status.RETRYING])
    return list(
        PlanInstallment.objects.filter(due | Q(status=Status.CHARGING), next_attempt_on__lte=today)
        .order_by("next_attempt_on", "plan_id", "number")
        .values_list("id", flat=True)
    )


def installments_charge_due(*, today: date | None = None) -> dict[str, int]:
    """Charge every due installment in this firm, each on its own; returns how many ended how."""
    today = today or timezone.localdate()
    outcomes: dict[str, int] = {}
    for installment_id in installments_due(today=today):
        try:
            outcome = installment_charge(installment_id=installment_id, today=today)
        except gateway.GatewayError as exc:  # Stripe unreachable: the key stays saved, the next run replays it
            logger.warning("installment %s not charged: %s", installment_id, exc)
            outcome = "error"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


def _outstanding(plan: PaymentPlan, invoice: Invoice, installment: PlanInstallment) -> int:
    """What the invoice still owes, less what other installments charged but whose event has not posted yet."""
    in_flight = (
        PlanInstallment.objects.filter(plan=plan, status__in=[Status.CHARGED, Status.CHARGING])
        .exclude(pk=installment.pk)
        .filter(payment__status=OnlinePayment.Status.STARTED)
        .aggregate(total=Sum("payment__amount_minor"))["total"]
        or 0
    )
    return invoice.balance_due_minor - in_flight


def _claim(installment_id: int, today: date) -> PlanInstallment | str:
    """Commit this attempt's key (and its OnlinePayment) before the call; or say why there is nothing to charge."""
    with transaction.atomic():
        installment = (
            PlanInstallment.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("plan", "payment")
            .filter(pk=installment_id)
            .first()
        )
        if installment is None:
            return "busy"  # another run holds it right now
        plan = installment.plan
        if installment.status == Status.CHARGING:
            return installment  # a crash after the key was saved: the same key again
        due = installment.status in (Status.SCHEDULED, Status.RETRYING)
        if plan.status != PaymentPlan.Status.ACTIVE or not due or installment.next_attempt_on > today:
            return "not due"
        invoice = Invoice.objects.get(pk=plan.invoice_id)
        outstanding = _outstanding(plan, invoice, installment)
        if invoice.status not in PAYABLE_ONLINE or outstanding <= 0:
            paid = invoice.status == Invoice.Status.PAID or outstanding <= 0
            _end(
                PaymentPlan.objects.select_for_update(of=("self",)).get(pk=plan.pk),
                PaymentPlan.Status.COMPLETED if paid else PaymentPlan.Status.CANCELLED,
                "the invoice was paid otherwise" if paid else f"the invoice is {invoice.get_status_display().lower()}",
            )
            return "settled"
        amount = min(installment.amount_minor, outstanding)
        key = _key("installment")
        payment = installment.payment
        if payment is None:
            assert plan.account is not None
            payment = OnlinePayment.objects.create(
                purpose=OnlinePayment.Purpose.INVOICE,
                account=plan.account,
                account_kind=ConnectedAccount.Kind.OPERATING,
                invoice=invoice,
                client_id=plan.client_id,
                matter_id=plan.matter_id,
                amount_minor=amount,
                currency=installment.currency,
                idempotency_key=key,
            )
            installment.payment = payment
        else:  # a retry: a new PaymentIntent under a new key, on the same payment row, started again
            payment.amount_minor, payment.idempotency_key, payment.payment_intent_id = amount, key, None
            payment.status, payment.failure_reason = OnlinePayment.Status.STARTED, ""
            payment.save(
                update_fields=["amount_minor", "idempotency_key", "payment_intent_id", "status", "failure_reason"]
            )
        installment.status, installment.idempotency_key, installment.payment_intent_id = Status.CHARGING, key, ""
        installment.attempts += 1
        installment.save(update_fields=["status", "idempotency_key", "payment_intent_id", "attempts", "payment"])
        return installment


def installment_charge(*, installment_id: int, today: date) -> str:
    """Charge one due installment off-session; answers "charged", "declined", "failed", or why not."""
    claimed = _claim(installment_id, today)
    if isinstance(claimed, str):
        return claimed
    with transaction.atomic():
        # Held across the call: a second run at the same moment skips this installment instead of charging it.
        installment = (
            PlanInstallment.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("plan__account", "plan__client", "plan__invoice", "payment")
            .filter(pk=claimed.pk, status=Status.CHARGING)
            .first()
        )
        if installment is None:
            return "busy"
        plan, payment = installment.plan, installment.payment
        assert plan.account is not None
        assert plan.account.stripe_account_id
        assert payment is not None
        charge = gateway.installment_charge(
            account_id=plan.account.stripe_account_id,
            customer_id=plan.customer_id,
            payment_method_id=plan.payment_method_id,
            amount_minor=payment.amount_minor,
            currency=payment.currency,
            metadata={
                "portico_firm": current_firm().schema_name,
                "portico_payment": str(payment.pk),
                "portico_plan": str(plan.pk),
                "portico_installment": str(installment.number),
                "portico_description": f"{plan.invoice.display_number}, installment {installment.number}",
            },
            idempotency_key=installment.idempotency_key,
        )
        outcome = _record(installment, charge, today)
    if outcome in ("declined", "failed"):
        _notify_decline(installment, final=outcome == "failed")
    return outcome


def _record(installment: PlanInstallment, charge: gateway.OffSessionCharge, today: date) -> str:
    plan, payment = installment.plan, installment.payment
    assert payment is not None
    installment.payment_intent_id = charge.payment_intent_id
    if charge.payment_intent_id:
        payment.payment_intent_id = charge.payment_intent_id
        payment.save(update_fields=["payment_intent_id"])
    locked = PaymentPlan.objects.select_for_update(of=("self",)).get(pk=plan.pk)
    if charge.status != "declined":
        installment.status, installment.charged_at, installment.last_error = Status.CHARGED, timezone.now(), ""
        installment.save(update_fields=["status", "charged_at", "last_error", "payment_intent_id"])
        outcome = "charged"
    else:
        outcome = _declined(
            installment, locked, reason=decline_reason(charge.message, charge.decline_code), today=today
        )
    declined = {"decline_code": charge.decline_code} if charge.status == "declined" else {}
    extra = {"idempotency_key": installment.idempotency_key, **declined}
    _audit_charge(installment, payment_intent=charge.payment_intent_id, outcome=outcome, **extra)
    if outcome == "failed":
        _plan_failed(locked, installment)
    elif outcome == "charged" and not locked.installments.exclude(status=Status.CHARGED).exists():
        locked.status, locked.ended_at = PaymentPlan.Status.COMPLETED, timezone.now()
        locked.save(update_fields=["status", "ended_at"])
    plan.status = locked.status
    return outcome


def _audit_charge(installment: PlanInstallment, *, payment_intent: str, outcome: str, **extra: str) -> None:
    """One installment's charge attempt in the audit log: which attempt, how much, what Stripe answered."""
    assert installment.payment is not None
    audit_record(
        AuditAction.PAYMENT_PLAN_CHARGE,
        target=installment.plan,
        data={
            "installment": installment.number,
            "attempt": installment.attempts,
            "amount_minor": installment.payment.amount_minor,
            "payment_intent": payment_intent,
            "outcome": outcome,
            **extra,
        },
    )


def decline_reason(message: str, code: str) -> str:
    """What the bank said, with its decline code: shown to staff on the payment and the plan, and to the client."""
    message = (message or "declined").strip()
    return (f"{message} ({code})" if code and code not in message else message)[:300]


def _declined(installment: PlanInstallment, plan: PaymentPlan, *, reason: str, today: date) -> str:
    """Record a declined attempt (``plan`` locked): the payment failed with the reason, and the installment
    retried on the schedule, or failed after its last retry (the plan then defaults: staff get a task)."""
    payment = installment.payment
    assert payment is not None
    payment.status, payment.failure_reason = OnlinePayment.Status.FAILED, reason
    payment.save(update_fields=["status", "failure_reason"])
    installment.last_error = reason
    if plan.status != PaymentPlan.Status.ACTIVE:  # cancelled while this charge was in flight: no retry
        installment.status, outcome = Status.CANCELLED, "cancelled"
    elif installment.attempts > len(RETRY_DAYS):
        installment.status, outcome = Status.FAILED, "failed"
    else:
        installment.status, outcome = Status.RETRYING, "declined"
        installment.next_attempt_on = today + timedelta(days=RETRY_DAYS[installment.attempts - 1])
    installment.save(update_fields=["status", "last_error", "next_attempt_on", "payment_intent_id"])
    return outcome


def installment_failed_later(payment: OnlinePayment, obj: dict[str, object]) -> str:
    """``payment_intent.payment_failed`` for an installment's charge Stripe had answered as going through
    (``processing``): the same as a decline answered at once (inside the event's transaction, payment locked)."""
    installment = (
        PlanInstallment.objects.select_for_update(of=("self",)).select_related("plan").filter(payment=payment).first()
    )
    if installment is None:
        return "ignored"  # a Checkout payment: the client tries again on Stripe's page
    if payment.status != OnlinePayment.Status.STARTED or installment.status != Status.CHARGED:
        return "duplicate"
    if obj.get("id") != payment.payment_intent_id or installment.payment_intent_id != payment.payment_intent_id:
        return "duplicate"  # an earlier attempt's PaymentIntent
    plan = PaymentPlan.objects.select_for_update(of=("self",)).get(pk=installment.plan_id)
    if plan.status == PaymentPlan.Status.COMPLETED:  # it counted this installment as paid: it is not
        plan.status, plan.ended_at = PaymentPlan.Status.ACTIVE, None
        plan.save(update_fields=["status", "ended_at"])
    error = obj.get("last_payment_error")
    error = error if isinstance(error, dict) else {}
    reason = decline_reason(str(error.get("message") or ""), str(error.get("decline_code") or error.get("code") or ""))
    installment.charged_at = None
    installment.save(update_fields=["charged_at"])
    outcome = _declined(installment, plan, reason=reason, today=timezone.localdate())
    code = str(error.get("decline_code") or error.get("code") or "")
    _audit_charge(installment, payment_intent=payment.payment_intent_id, outcome=outcome, decline_code=code)
    if outcome == "failed":
        _plan_failed(plan, installment)
    if outcome in ("declined", "failed"):
        firm = tenant_connection().tenant  # the callback runs in this firm, whatever schema is current by then
        final = outcome == "failed"

        def notify() -> None:
            with firm:
                _notify_decline(
                    PlanInstallment.objects.select_related("plan__client", "plan__invoice").get(pk=installment.pk),
                    final=final,
                )

        transaction.on_commit(notify)
    return "applied"


def _plan_failed(plan: PaymentPlan, installment: PlanInstallment) -> None:
    reason = f"installment {installment.number} declined {installment.attempts} times: {installment.last_error}"
    _end(plan, PaymentPlan.Status.FAILED, reason)
    invoice = plan.invoice
    task = BillingTask.objects.create(
        kind=BillingTask.Kind.PAYMENT_PLAN_FAILED,
        client_id=plan.client_id,
        matter_id=plan.matter_id,
        message=(
            f"The payment plan on {invoice.display_number} failed: installment {installment.number} "
            f"({installment.amount.format()}) was declined {installment.attempts} times. "
            f"Contact the client about the {invoice.balance_due.format()} due."
        )[:500],
    )
    audit_record(
        AuditAction.PAYMENT_PLAN_FAIL,
        target=plan,
        data={"installment": installment.number, "attempts": installment.attempts, "task": task.pk},
    )


def _notify_decline(installment: PlanInstallment, *, final: bool) -> None:
    """The client's notice of a declined installment, in their language (after the attempt is recorded)."""
    from babel.dates import format_date

    plan = installment.plan
    client = plan.client
    language = client.preferred_language or "en"
    with translation.override(language):
        values = {
            "amount": installment.amount.format(language),
            "invoice": plan.invoice.display_number,
            "date": format_date(installment.next_attempt_on, format="long", locale=language),
            "link": firm_link(reverse("invoicing:client_plan", kwargs={"plan_id": plan.pk})),
        }
        if final:
            next_step = _("This was the last attempt: the plan has stopped, and the firm will contact you.")
        else:
            next_step = _("We will try again on %(date)s. Please make sure your card can be charged.") % values
        body = "\n\n".join(
            [
                _("Your card was declined for the installment of %(amount)s on invoice %(invoice)s.") % values,
                next_step,
                _("See your payment plan: %(link)s") % values,
            ]
        )
        message = EmailMessage(
            subject=_("Your payment plan installment could not be charged"),
            body=body,
            from_email=firm_sender(),
            to=[client.email],
        )
    try:
        message.send()
    except OSError:  # the attempt is recorded either way; the mail server's failure is only logged
        logger.exception("decline notice for installment %s not sent", installment.pk)
