"""Staff billing pages: invoices (list, draft, lines, issue, void, payments, PDF, LEDES), credit notes,
write-off and credit-note approvals, and time entries on a matter.

The guard order is the workspace's (portal/guards.py): the object through its
accessor first (404 when missing or not yours), then staff role (403), then method (405).
"""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from billing.access import (
    credit_note_for_user,
    credit_notes_for_user,
    credit_refund_for_user,
    credit_refunds_for_user,
    invoice_for_user,
    invoices_for_user,
    matters_for_billing,
    write_off_for_user,
    write_offs_for_user,
)
from billing.credit_notes import refunds
from billing.credit_notes import services as credit_notes
from billing.credit_notes.models import CreditNote, CreditRefund
from billing.exports.ledes import invoice_ledes
from billing.fees.services import time_entry_record
from billing.invoices import services as invoices
from billing.invoices import write_offs
from billing.invoices.models import Invoice, WriteOff
from billing.invoices.pdf import invoice_pdf, invoice_pdf_filename
from billing.invoices.trust import invoice_apply_trust
from billing.money import Money
from core.access import matter_for_user
from core.roles import APPROVE_ADJUSTMENT, ISSUE_INVOICE, MANAGE_INVOICES, VIEW_BILLING
from portal.billing_forms import (
    CreditNoteForm,
    CreditRefundForm,
    FeeLineForm,
    InvoiceCreateForm,
    PaymentForm,
    TimeEntryForm,
    VoidForm,
    WriteOffForm,
)
from portal.guards import require_staff, signed_in_user, wrong_method


def _detail_url(invoice: Invoice) -> str:
    return reverse("invoicing:invoice", kwargs={"invoice_id": invoice.pk})


def _invoice_action(
    request: HttpRequest, invoice_id: int, permission: str, act: Callable[[Invoice], str | None]
) -> HttpResponse:
    """POST-only action on one invoice: accessor, role, method, then ``act`` (a message, or raises)."""
    invoice = invoice_for_user(signed_in_user(request), invoice_id)
    require_staff(request, permission=permission)
    if refused := wrong_method(request, "POST"):
        return refused
    try:
        done = act(invoice)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        if done:
            messages.success(request, done)
    return HttpResponseRedirect(_detail_url(invoice))


def _money(form: forms.Form, invoice: Invoice) -> Money:
    try:  # Money.parse is strict: no exponent (1e3), no more decimals than the currency has, at most a billion
        return Money.parse(str(form.cleaned_data["amount"]), invoice.currency)
    except ValueError as exc:
        raise ValidationError(f"amount: {exc}") from exc


def _invalid(form: forms.Form) -> ValidationError:
    return ValidationError(
        [f"{field}: {' '.join(str(error) for error in errors)}" for field, errors in form.errors.items()]
    )


@login_required
def invoice_list(request: HttpRequest) -> HttpResponse:
    user = require_staff(request, permission=VIEW_BILLING)
    if refused := wrong_method(request, "GET"):
        return refused
    found = invoices_for_user(user).select_related("matter", "client")
    status = request.GET.get("status", "")
    if status in Invoice.Status.values:
        found = found.filter(status=status)
    if request.GET.get("review"):
        found = found.filter(status=Invoice.Status.DRAFT, needs_review=True)
    context = {
        "invoices": found[:200],
        "statuses": Invoice.Status.choices,
        "status": status,
        "review": bool(request.GET.get("review")),
        "create_form": InvoiceCreateForm(matters=matters_for_billing(request.user)),
        "to_review": invoices_for_user(user).filter(status=Invoice.Status.DRAFT, needs_review=True).count(),
    }
    return render(request, "portal/billing_inv_list.html", context)


@login_required
def invoice_create(request: HttpRequest) -> HttpResponse:
    user = require_staff(request, permission=MANAGE_INVOICES)
    if refused := wrong_method(request, "POST"):
        return refused
    form = InvoiceCreateForm(request.POST, matters=matters_for_billing(request.user))
    if not form.is_valid():
        messages.error(request, " ".join(_invalid(form).messages))
        return HttpResponseRedirect(reverse("invoicing:invoices"))
    invoice = invoices.invoice_create(matter=form.cleaned_data["matter"], by=user)
    return HttpResponseRedirect(_detail_url(invoice))


@login_required
def invoice_detail(request: HttpRequest, invoice_id: int) -> HttpResponse:
    invoice = invoice_for_user(signed_in_user(request), invoice_id)
    require_staff(request, permission=VIEW_BILLING)
    if refused := wrong_method(request, "GET"):
        return refused
    unbilled = invoice.matter.time_entries.filter(invoice_line__isnull=True).count()
    context = {
        "invoice": invoice,
        "lines": invoice.lines.all(),
        "payments": invoice.payments.select_related("recorded_by"),
        "credit_notes": invoice.credit_notes.select_related("requested_by", "decided_by"),
        "write_offs": invoice.write_offs.select_related("requested_by", "decided_by"),
        "unbilled_time": unbilled,
        "client_credit": invoices.client_credit_balance(client=invoice.client, currency=invoice.currency),
        "fee_form": FeeLineForm(),
        "payment_form": PaymentForm(),
        "credit_note_form": CreditNoteForm(),
        "write_off_form": WriteOffForm(),
        "void_form": VoidForm(),
        "refund_form": CreditRefundForm(),
    }
    return render(request, "portal/billing_inv_detail.html", context)


@login_required
def invoice_add_fee(request: HttpRequest, invoice_id: int) -> HttpResponse:
    def act(invoice: Invoice) -> str:
        form = FeeLineForm(request.POST)
        if not form.is_valid():
            raise _invalid(form)
        invoices.invoice_add_fee(
            invoice=invoice,
            template=form.cleaned_data["template"],
            quantity=form.cleaned_data["quantity"],
            minutes=form.cleaned_data["minutes"] or 0,
        )
        return str(_("Line added."))

    return _invoice_action(request, invoice_id, MANAGE_INVOICES, act)


@login_required
def invoice_add_time(request: HttpRequest, invoice_id: int) -> HttpResponse:
    def act(invoice: Invoice) -> str:
        added = invoices.invoice_add_time(invoice=invoice)
        return str(_("%(count)d time entries added.") % {"count": len(added)})

    return _invoice_action(request, invoice_id, MANAGE_INVOICES, act)


@login_required
def invoice_issue(request: HttpRequest, invoice_id: int) -> HttpResponse:
    user = signed_in_user(request)

    def act(invoice: Invoice) -> str:
        issued = invoices.invoice_issue(invoice=invoice, by=user)
        return str(_("Issued as %(number)s.") % {"number": issued.display_number})

    return _invoice_action(request, invoice_id, ISSUE_INVOICE, act)


@login_required
def invoice_void(request: HttpRequest, invoice_id: int) -> HttpResponse:
    user = signed_in_user(request)

    def act(invoice: Invoice) -> str:
        form = VoidForm(request.POST)
        if not form.is_valid():
            raise _invalid(form)
        invoices.invoice_void(invoice=invoice, by=user, reason=form.cleaned_data["reason"])
        return str(_("Invoice void."))

    return _invoice_action(request, invoice_id, ISSUE_INVOICE, act)


@login_required
def invoice_payment(request: HttpRequest, invoice_id: int) -> HttpResponse:
    user = signed_in_user(request)

    def act(invoice: Invoice) -> str:
        source = request.POST.get("source", "")
        if source == "trust":
            paid = invoice_apply_trust(invoice=invoice, by=user)
            return str(_("Applied from trust.")) if paid else str(_("No cleared trust funds to apply."))
        if source == "credit":
            paid = invoices.client_credit_apply(invoice=invoice, by=user)
            return str(_("Client credit applied.")) if paid else str(_("The client has no credit."))
        form = PaymentForm(request.POST)
        if not form.is_valid():
            raise _invalid(form)
        invoices.payment_record(
            invoice=invoice,
            method=form.cleaned_data["method"],
            amount=_money(form, invoice),
            received_on=form.cleaned_data["received_on"],
            reference=form.cleaned_data["reference"],
            by=user,
        )
        return str(_("Payment recorded."))

    return _invoice_action(request, invoice_id, MANAGE_INVOICES, act)


@login_required
def invoice_credit_note(request: HttpRequest, invoice_id: int) -> HttpResponse:
    user = signed_in_user(request)

    def act(invoice: Invoice) -> str:
        form = CreditNoteForm(request.POST)
        if not form.is_valid():
            raise _invalid(form)
        credit_notes.credit_note_request(
            invoice=invoice,
            reason=form.cleaned_data["reason"],
            amount=_money(form, invoice),
            memo=form.cleaned_data["memo"],
            by=user,
        )
        return str(_("Credit note requested; someone else must approve it."))

    return _invoice_action(request, invoice_id, MANAGE_INVOICES, act)


@login_required
def invoice_write_off(request: HttpRequest, invoice_id: int) -> HttpResponse:
    user = signed_in_user(request)

    def act(invoice: Invoice) -> str:
        form = WriteOffForm(request.POST)
        if not form.is_valid():
            raise _invalid(form)
        write_offs.write_off_request(
            invoice=invoice, amount=_money(form, invoice), reason=form.cleaned_data["reason"], by=user
        )
        return str(_("Write-off requested; someone else must approve it."))

    return _invoice_action(request, invoice_id, MANAGE_INVOICES, act)


@login_required
def invoice_credit_refund(request: HttpRequest, invoice_id: int) -> HttpResponse:
    """Ask to pay the invoice's client their credit back (approved by someone else on the adjustments page)."""
    user = signed_in_user(request)

    def act(invoice: Invoice) -> str:
        form = CreditRefundForm(request.POST)
        if not form.is_valid():
            raise _invalid(form)
        refunds.credit_refund_request(
            client=invoice.client,
            amount=_money(form, invoice),
            method=form.cleaned_data["method"],
            reason=form.cleaned_data["reason"],
            by=user,
        )
        return str(_("Refund requested; someone else must approve it."))

    return _invoice_action(request, invoice_id, MANAGE_INVOICES, act)


@login_required
def invoice_pdf_download(request: HttpRequest, invoice_id: int) -> HttpResponse:
    invoice = invoice_for_user(signed_in_user(request), invoice_id)
    require_staff(request, permission=VIEW_BILLING)
    if refused := wrong_method(request, "GET"):
        return refused
    response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{invoice_pdf_filename(invoice)}"'
    return response


@login_required
def invoice_ledes_download(request: HttpRequest, invoice_id: int) -> HttpResponse:
    invoice = invoice_for_user(signed_in_user(request), invoice_id)
    require_staff(request, permission=VIEW_BILLING)
    if refused := wrong_method(request, "GET"):
        return refused
    if invoice.number is None:
        messages.error(request, str(_("A draft has no LEDES file; issue it first.")))
        return HttpResponseRedirect(_detail_url(invoice))
    response = HttpResponse(invoice_ledes(invoice), content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{invoice.display_number}.ledes.txt"'
    return response


@login_required
def adjustments(request: HttpRequest) -> HttpResponse:
    """Credit notes and write-offs waiting for approval, and every credit note."""
    user = require_staff(request, permission=VIEW_BILLING)
    if refused := wrong_method(request, "GET"):
        return refused
    notes = credit_notes_for_user(user)
    context = {
        "pending_notes": notes.filter(status=CreditNote.Status.REQUESTED).select_related("invoice", "requested_by"),
        "pending_write_offs": write_offs_for_user(user)
        .filter(status=WriteOff.Status.REQUESTED)
        .select_related("invoice", "requested_by"),
        "credit_notes": notes.select_related("invoice", "matter", "requested_by", "decided_by")[:200],
        "pending_refunds": credit_refunds_for_user(user)
        .filter(status=CreditRefund.Status.REQUESTED)
        .select_related("client", "requested_by"),
    }
    return render(request, "portal/billing_inv_adjustments.html", context)


def _decision(request: HttpRequest) -> bool:
    return request.POST.get("decision") == "approve"


@login_required
def credit_note_decide(request: HttpRequest, credit_note_id: int) -> HttpResponse:
    user = signed_in_user(request)
    note = credit_note_for_user(user, credit_note_id)
    require_staff(request, permission=APPROVE_ADJUSTMENT)
    if refused := wrong_method(request, "POST"):
        return refused
    try:
        credit_notes.credit_note_decide(note=note, approve=_decision(request), by=user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return HttpResponseRedirect(reverse("invoicing:adjustments"))


@login_required
def credit_refund_decide(request: HttpRequest) -> HttpResponse:
    """Approve or reject a requested refund of client credit (its id is in the form, not the URL)."""
    user = require_staff(request, permission=APPROVE_ADJUSTMENT)
    if refused := wrong_method(request, "POST"):
        return refused
    refund = credit_refund_for_user(user, request.POST.get("refund"))
    try:
        refunds.credit_refund_decide(refund=refund, approve=_decision(request), by=user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return HttpResponseRedirect(reverse("invoicing:adjustments"))


@login_required
def write_off_decide(request: HttpRequest, write_off_id: int) -> HttpResponse:
    user = signed_in_user(request)
    write_off = write_off_for_user(user, write_off_id)
    require_staff(request, permission=APPROVE_ADJUSTMENT)
    if refused := wrong_method(request, "POST"):
        return refused
    try:
        write_offs.write_off_decide(write_off=write_off, approve=_decision(request), by=user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return HttpResponseRedirect(reverse("invoicing:adjustments"))


@login_required
def matter_time(request: HttpRequest, matter_id: int) -> HttpResponse:
    """Time recorded on a matter; anyone who may change the matter records time on it."""
    user = signed_in_user(request)
    matter = matter_for_user(user, matter_id)
    require_staff(request)
    if refused := wrong_method(request, "GET", "POST"):
        return refused
    form = TimeEntryForm(request.POST or None)
    if request.method == "POST":
        matter = matter_for_user(user, matter_id, action="change")
        if form.is_valid():
            time_entry_record(
                matter=matter,
                timekeeper=user,
                worked_on=form.cleaned_data["worked_on"],
                minutes=form.cleaned_data["minutes"],
                description=form.cleaned_data["description"],
                template=form.cleaned_data["template"],
                by=user,
            )
            messages.success(request, str(_("Time recorded.")))
            return HttpResponseRedirect(reverse("invoicing:matter_time", kwargs={"matter_id": matter.pk}))
    entries = matter.time_entries.select_related("timekeeper", "fee_template", "invoice_line__invoice")
    status = 400 if request.method == "POST" else 200
    return render(
        request, "portal/billing_inv_time.html", {"matter": matter, "entries": entries, "form": form}, status=status
    )
