"""Staff pages for online payments: the list (by state, client, account), a payment's detail, refunds, retainers.

A payment is reached through ``billing.access.online_payment_for_user`` (404 for
missing, not yours, malformed), then billing staff only (403). An invoice payment
is refunded at once; a retainer (money in trust) through a two-approver request
(``billing.stripe.trust_refunds``) decided on the payment's page. Reads of these
pages are not audited, as no read of a billing page is (only exports and document
views are); every refund, approval and rejection is.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from billing.access import (
    client_for_billing,
    matter_for_billing,
    online_payment_for_user,
    online_payments_for_user,
    payment_document_for_user,
    payment_documents_for_user,
    trust_card_refund_for_user,
)
from billing.ledger.accounts import default_currency
from billing.money import Money
from billing.stripe.disputes import dispute_accept, dispute_evidence_submit, payment_dispute
from billing.stripe.gateway import GatewayError
from billing.stripe.models import ConnectedAccount, OnlinePayment
from billing.stripe.selectors import (
    payment_audit,
    payment_clients,
    payment_entries,
    payment_events,
    payment_stripe_ids,
)
from billing.stripe.services import payment_refund, retainer_request_create
from billing.stripe.trust_refunds import refundable, trust_card_refund_request
from billing.trust.requests import trust_request_approve, trust_request_reject
from core.models import User
from core.roles import APPROVE_TRUST, MANAGE_INVOICES, MANAGE_TRUST, VIEW_BILLING
from portal.guards import require_staff, signed_in_user, wrong_method


def _back(payment: OnlinePayment | None = None) -> HttpResponseRedirect:
    if payment is None:
        return HttpResponseRedirect(reverse("invoicing:online_payments"))
    return HttpResponseRedirect(reverse("invoicing:online_payment", args=[payment.pk]))


def _refusal(exc: ValidationError | PermissionDenied) -> str:
    return " ".join(getattr(exc, "messages", None) or [str(exc)])


@login_required
def online_payments(request: HttpRequest) -> HttpResponse:
    user = require_staff(request, permission=VIEW_BILLING)
    if refused := wrong_method(request, "GET"):
        return refused
    rows = online_payments_for_user(user).select_related("client", "matter", "invoice", "retainer")
    status, kind, client = request.GET.get("status", ""), request.GET.get("account", ""), request.GET.get("client", "")
    if status in OnlinePayment.Status.values:
        rows = rows.filter(status=status)
    if kind in ConnectedAccount.Kind.values:
        rows = rows.filter(account_kind=kind)
    if client:
        rows = rows.filter(client=client_for_billing(user, client))
    return render(
        request,
        "portal/billing_online_payments.html",
        {
            "payments": rows[:200],
            "statuses": OnlinePayment.Status.choices,
            "kinds": ConnectedAccount.Kind.choices,
            "clients": payment_clients(),
            "status": status,
            "kind": kind,
            "client": client,
        },
    )


@login_required
def online_payment(request: HttpRequest, payment_id: int) -> HttpResponse:
    """One payment for billing staff: who, what for, Stripe ids, amounts, ledger entries, events, audit, refunds."""
    payment = online_payment_for_user(signed_in_user(request), payment_id)
    user = require_staff(request, permission=VIEW_BILLING)
    if refused := wrong_method(request, "GET"):
        return refused
    refunds = payment.trust_refunds.select_related("request__requested_by").prefetch_related(
        "request__approvals__approver"
    )
    return render(
        request,
        "portal/billing_online_payment.html",
        {
            "payment": payment,
            "ids": payment_stripe_ids(payment),
            "refunded": Money(payment.refunded_minor, payment.currency),
            "asked": Money(payment.refund_asked_minor, payment.currency),
            "disputed": Money(payment.disputed_minor, payment.currency),
            "refundable": refundable(payment) if payment.purpose == OnlinePayment.Purpose.RETAINER else None,
            "entries": payment_entries(payment),
            "events": payment_events(payment),
            "audit": payment_audit(payment),
            "trust_refunds": refunds,
            "dispute": payment_dispute(payment),
            "documents": payment_documents_for_user(user, payment)[:100],
        },
    )


@login_required
def online_payment_refund(request: HttpRequest, payment_id: int) -> HttpResponse:
    """Refund (part of) a payment: an invoice payment at once, a retainer in trust after two approvals.

    Either way the ledger follows Stripe's ``charge.refunded`` event.
    """
    payment = online_payment_for_user(signed_in_user(request), payment_id)
    in_trust = payment.purpose == OnlinePayment.Purpose.RETAINER
    user = require_staff(request, permission=MANAGE_TRUST if in_trust else MANAGE_INVOICES)
    if refused := wrong_method(request, "POST"):
        return refused
    try:
        amount = Money.parse(request.POST.get("amount", ""), payment.currency)
    except ValueError as exc:
        messages.error(request, _("Amount: %(problem)s") % {"problem": exc})
        return _back(payment)
    try:
        if in_trust:
            trust_card_refund_request(payment=payment, amount=amount, reason=request.POST.get("reason", ""), by=user)
        else:
            payment_refund(payment=payment, amount=amount, by=user)
    except ValidationError as exc:
        messages.error(request, _refusal(exc))
    except GatewayError as exc:
        messages.error(request, str(exc))
    else:
        if in_trust:
            messages.success(
                request,
                _("Refund of %(amount)s from trust requested; it waits for two approvers.")
                % {"amount": amount.format()},
            )
        else:
            messages.success(
                request,
                _("Refund of %(amount)s asked of Stripe; it is posted when Stripe confirms it.")
                % {"amount": amount.format()},
            )
    return _back(payment)


@login_required
def trust_refund_decide(request: HttpRequest, payment_id: int) -> HttpResponse:
    """Approve or reject a card refund of this retainer (POST ``request_id``, ``decision``, ``reason``)."""
    payment = online_payment_for_user(signed_in_user(request), payment_id)
    user = require_staff(request, permission=APPROVE_TRUST)
    if refused := wrong_method(request, "POST"):
        return refused
    refund = trust_card_refund_for_user(user, request.POST.get("request_id"))
    if refund.payment_id != payment.pk:
        raise Http404("No such request.")
    try:
        if request.POST.get("decision") == "reject":
            trust_request_reject(request=refund.request, by=user, reason=request.POST.get("reason", "")[:500])
            done = _("Refund rejected.")
        else:
            trust_request_approve(request=refund.request, by=user)
            refund.refresh_from_db()
            done = (
                _("Approved; Stripe was asked for the refund. It is posted when Stripe confirms it.")
                if refund.status == refund.Status.ASKED
                else _("Approval recorded; it needs another approver.")
            )
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, _refusal(exc))
    else:
        messages.success(request, done)
    return _back(payment)


@login_required
def retainer_request(request: HttpRequest) -> HttpResponse:
    """Ask a matter's client for a retainer into trust; they pay it from the portal."""
    user = require_staff(request, permission=MANAGE_INVOICES)
    if refused := wrong_method(request, "POST"):
        return refused
    matter = matter_for_billing(user, request.POST.get("matter_id"))
    purpose = request.POST.get("purpose", "").strip()
    try:
        amount = Money.parse(request.POST.get("amount", ""), default_currency())
        if not purpose:
            raise ValidationError(_("Say what the retainer is for."))
        retainer_request_create(matter=matter, amount=amount, purpose=purpose, by=user)
    except ValueError as exc:
        messages.error(request, _("Amount: %(problem)s") % {"problem": exc})
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.success(
            request,
            _("Retainer of %(amount)s requested from the client of %(matter)s.")
            % {"amount": amount.format(), "matter": matter.reference},
        )
    return _back()


# --- Disputes ---------------------------------------------------------------------------------------------


def _dispute_staff(request: HttpRequest, payment: OnlinePayment) -> User:
    in_trust = payment.purpose == OnlinePayment.Purpose.RETAINER
    return require_staff(request, permission=MANAGE_TRUST if in_trust else MANAGE_INVOICES)


@login_required
def dispute_evidence(request: HttpRequest, payment_id: int) -> HttpResponse:
    """Submit the firm's evidence on the payment's dispute (POST ``text``, ``document``: one of the matter's)."""
    payment = online_payment_for_user(signed_in_user(request), payment_id)
    user = _dispute_staff(request, payment)
    if refused := wrong_method(request, "POST"):
        return refused
    chosen = request.POST.get("document", "")
    document = payment_document_for_user(user, payment, chosen) if chosen else None
    dispute = payment_dispute(payment)
    if dispute is None:
        raise Http404("This payment has no dispute.")
    try:
        dispute_evidence_submit(dispute=dispute, text=request.POST.get("text", ""), document=document, by=user)
    except ValidationError as exc:
        messages.error(request, _refusal(exc))
    except GatewayError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Evidence submitted to Stripe; the card network now reviews the dispute."))
    return _back(payment)


@login_required
def dispute_accept_view(request: HttpRequest, payment_id: int) -> HttpResponse:
    """Accept the payment's dispute (POST ``confirm=yes``): closed at Stripe, not contested."""
    payment = online_payment_for_user(signed_in_user(request), payment_id)
    user = _dispute_staff(request, payment)
    if refused := wrong_method(request, "POST"):
        return refused
    dispute = payment_dispute(payment)
    if dispute is None:
        raise Http404("This payment has no dispute.")
    if request.POST.get("confirm") != "yes":
        messages.error(request, _("Tick the box to confirm that the firm accepts the dispute."))
        return _back(payment)
    try:
        dispute_accept(dispute=dispute, by=user)
    except ValidationError as exc:
        messages.error(request, _refusal(exc))
    except GatewayError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Dispute accepted: the cardholder keeps the money."))
    return _back(payment)
