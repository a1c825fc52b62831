"""Forms of the staff billing pages (portal/views/billing_invoices.py)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from billing.credit_notes.models import CreditNote, CreditRefund
from billing.fees.models import FeeTemplate
from billing.invoices.models import Payment
from billing.invoices.services import MANUAL_METHODS
from core.models import Matter


class InvoiceCreateForm(forms.Form):
    """``matters``: the ones the person may bill (``billing.access.matters_for_billing``)."""

    matter: forms.ModelChoiceField[Matter] = forms.ModelChoiceField(queryset=None, label=_("Matter"))

    def __init__(self, *args: Any, matters: QuerySet[Matter], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["matter"].queryset = matters  # type: ignore[attr-defined]


class FeeLineForm(forms.Form):
    template = forms.ModelChoiceField(queryset=FeeTemplate.objects.filter(active=True), label=_("Fee"))
    quantity = forms.IntegerField(min_value=1, initial=1, label=_("Quantity"))
    minutes = forms.IntegerField(min_value=0, initial=0, required=False, label=_("Minutes (hourly fees)"))


class PaymentForm(forms.Form):
    method = forms.ChoiceField(
        choices=[(m.value, m.label) for m in Payment.Method if m in MANUAL_METHODS], label=_("Method")
    )
    amount = forms.DecimalField(min_value=0, decimal_places=2, label=_("Amount"))
    received_on = forms.DateField(initial=timezone.localdate, label=_("Received on"))
    reference = forms.CharField(max_length=100, required=False, label=_("Reference"))


class CreditNoteForm(forms.Form):
    reason = forms.ChoiceField(choices=CreditNote.Reason.choices, label=_("Reason"))
    amount = forms.DecimalField(min_value=0, decimal_places=2, label=_("Amount"))
    memo = forms.CharField(max_length=500, required=False, label=_("Note"))


class WriteOffForm(forms.Form):
    amount = forms.DecimalField(min_value=0, decimal_places=2, label=_("Amount"))
    reason = forms.CharField(max_length=500, label=_("Reason"))


class CreditRefundForm(forms.Form):
    amount = forms.DecimalField(min_value=0, decimal_places=2, label=_("Amount"))
    method = forms.ChoiceField(choices=CreditRefund.Method.choices, label=_("Method"))
    reason = forms.CharField(max_length=500, label=_("Reason"))


class VoidForm(forms.Form):
    reason = forms.CharField(max_length=500, label=_("Reason"))


class TimeEntryForm(forms.Form):
    template = forms.ModelChoiceField(
        queryset=FeeTemplate.objects.filter(active=True, kind=FeeTemplate.Kind.HOURLY), label=_("Billing code")
    )
    worked_on = forms.DateField(initial=timezone.localdate, label=_("Worked on"))
    minutes = forms.IntegerField(min_value=1, label=_("Minutes"))
    description = forms.CharField(max_length=500, label=_("Description"))
