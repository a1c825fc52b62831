"""The client's billing page: their invoices (PDF), trust balance per matter and payment history, in their language."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation

from billing.access import (
    invoice_for_user,
    invoices_for_user,
    online_payments_for_user,
    payments_for_user,
    retainer_requests_for_user,
    trust_deposits_for_user,
)
from billing.invoices.pdf import invoice_pdf, invoice_pdf_filename
from billing.ledger.models import Account
from billing.ledger.selectors import balances_by_account
from billing.money import Money
from billing.stripe.models import ConnectedAccount, RetainerRequest
from billing.stripe.selectors import online_payment_available
from billing.stripe.services import PAYABLE_ONLINE
from core.access import matters_for_user
from portal.guards import signed_in_user, wrong_method


@login_required
def billing_overview(request: HttpRequest) -> HttpResponse:
    """Only the signed-in person's own invoices and trust money, whatever their role."""
    user = signed_in_user(request)
    if refused := wrong_method(request, "GET"):
        return refused
    language = user.preferred_language or "en"
    own = invoices_for_user(user).filter(client=user).exclude(status="draft").select_related("matter")
    trust_accounts = Account.objects.filter(
        kind=Account.Kind.CLIENT_TRUST, client=user, matter__in=matters_for_user(user)
    ).select_related("matter")
    balances = balances_by_account(accounts=trust_accounts)
    trust = [
        (account.matter, (balances.get(account.pk) or Money.zero(account.currency)).format(language))
        for account in trust_accounts
    ]
    payments = payments_for_user(user).filter(invoice__client=user).order_by("-received_on", "-id")
    retainers = trust_deposits_for_user(user).filter(client=user).select_related("matter")
    asked = retainer_requests_for_user(user).filter(client=user, status=RetainerRequest.Status.OPEN)
    pay_invoices = online_payment_available(ConnectedAccount.Kind.OPERATING)
    pay_retainers = online_payment_available(ConnectedAccount.Kind.TRUST)
    online = online_payments_for_user(user).filter(client=user).order_by("-created", "-id")[:10]
    with translation.override(language):
        return render(
            request,
            "portal/billing_inv_client.html",
            {
                "invoices": [
                    (
                        invoice,
                        invoice.total.format(language),
                        invoice.balance_due.format(language),
                        pay_invoices and invoice.status in PAYABLE_ONLINE and invoice.balance_due_minor > 0,
                    )
                    for invoice in own
                ],
                "retainer_requests": [
                    (retainer, retainer.amount.format(language)) for retainer in asked.select_related("matter")
                ],
                "pay_retainers": pay_retainers,
                "online_payments": [(payment, payment.amount.format(language)) for payment in online],
                "trust": trust,
                "payments": [(payment, payment.amount.format(language)) for payment in payments],
                "retainers": [
                    (deposit, Money(deposit.amount_minor, deposit.currency).format(language)) for deposit in retainers
                ],
            },
        )


@login_required
def invoice_pdf_for_client(request: HttpRequest, invoice_id: int) -> HttpResponse:
    user = signed_in_user(request)
    invoice = invoice_for_user(user, invoice_id)
    if refused := wrong_method(request, "GET"):
        return refused
    if invoice.status == invoice.Status.DRAFT:  # staff reach drafts through the accessor; a PDF is of an issued one
        from django.http import Http404

        raise Http404("No such invoice.")
    response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{invoice_pdf_filename(invoice)}"'
    return response
