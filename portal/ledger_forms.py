"""Forms of the staff ledger, trust and reconciliation pages (portal/views/billing_trust.py, billing_reconciliation.py).

Amounts people type go through ``MoneyField`` (``Money.parse`` in the firm's
currency: ``1,500.00``; no exponents, no more decimals than the currency has).
``show_refusal`` puts a service's ``ValidationError`` at the field it names,
or at the top of the form when the form has no such field.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from billing.money import MAX_MAJOR_UNITS, AmountError, Money, known_currency
from billing.reconciliation.models import BankStatement
from billing.reconciliation.statements import CsvMapping
from billing.trust.models import TrustDeposit, TrustRequest
from core.models import Matter


class MoneyField(forms.CharField):
    """An amount typed by a person, in ``currency``, cleaned to ``Money`` (never a float)."""

    def __init__(self, *, currency: str = "USD", allow_zero: bool = False, **kwargs: Any) -> None:
        self.currency = currency
        self.allow_zero = allow_zero
        super().__init__(max_length=24, **kwargs)

    def clean(self, value: object) -> Money | None:
        text = super().clean(value)
        if not text:
            return None
        try:
            amount = Money.parse(text, self.currency)
        except AmountError as exc:
            if "largest" in str(exc):
                raise ValidationError(f"Enter an amount of at most {MAX_MAJOR_UNITS:,}.") from exc
            raise ValidationError("Enter an amount such as 1500.00.") from exc
        if amount.minor < 0 or (amount.minor == 0 and not self.allow_zero):
            raise ValidationError("Enter a positive amount.")
        return amount


def show_refusal(form: forms.Form, exc: ValidationError) -> None:
    """A service's refusal on the form: at the named field when the form has it, else at the top."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for field, errors in exc.error_dict.items():
        messages = [message for error in errors for message in error.messages]
        if field in form.fields:
            form.add_error(field, messages)
        else:
            form.add_error(None, [f"{field.replace('_', ' ')}: {message}" for message in messages])


def _matters() -> forms.ModelChoiceField:  # type: ignore[type-arg]
    """Filled by the form from the ``matters`` it is given (``billing.access.matters_for_billing``)."""
    return forms.ModelChoiceField(queryset=None)


class _InCurrency(forms.Form):
    """A form whose amounts are in the firm's currency (given by the view)."""

    def __init__(self, *args: Any, currency: str, matters: QuerySet[Matter] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, MoneyField):
                field.currency = currency
        if "matter" in self.fields:
            if matters is None:
                raise TypeError(f"{type(self).__name__} needs the matters its user may choose")
            self.fields["matter"].queryset = matters  # type: ignore[attr-defined]


class DepositForm(_InCurrency):
    matter = _matters()
    amount = MoneyField()
    method = forms.ChoiceField(choices=TrustDeposit.Method.choices)
    reference = forms.CharField(max_length=100, required=False)
    received_on = forms.DateField(required=False)
    cleared_on = forms.DateField(required=False)


class RequestForm(_InCurrency):
    kind = forms.ChoiceField(choices=TrustRequest.Kind.choices)
    matter = _matters()
    amount = MoneyField()
    payee = forms.CharField(max_length=200, required=False)
    purpose = forms.CharField(max_length=500)


class ClearForm(forms.Form):
    deposit_id = forms.CharField(max_length=20)
    cleared_on = forms.DateField(required=False)


class TrustSettingsForm(forms.Form):
    """The firm's currency and trust thresholds, the thresholds as amounts in that currency ("5000.00")."""

    currency = forms.CharField(max_length=3, help_text="ISO 4217, e.g. USD.")
    two_approver_threshold = MoneyField(allow_zero=True, label="Two approvers above", help_text="e.g. 5000.00")
    low_balance = MoneyField(allow_zero=True, label="Low-balance task below", help_text="e.g. 500.00")
    apply_trust_to_invoices = forms.BooleanField(required=False)
    partial_payment_minimum = MoneyField(
        allow_zero=True,
        required=False,  # left empty: unchanged
        label="Smallest partial payment online",
        help_text="Clients paying an invoice by card pay at least this much (or the whole balance), e.g. 50.00",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The thresholds are read in the currency the form is submitting, not the one saved before.
        wanted = str(self.data.get("currency") or self.initial.get("currency") or "USD").strip().upper()[:3]
        for name in ("two_approver_threshold", "low_balance", "partial_payment_minimum"):
            field = self.fields[name]
            assert isinstance(field, MoneyField)
            field.currency = wanted if wanted.isalpha() and len(wanted) == 3 else "USD"

    def clean_currency(self) -> str:
        return str(self.cleaned_data["currency"]).strip().upper()


class DecisionForm(forms.Form):
    request_id = forms.CharField(max_length=20)
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])
    reason = forms.CharField(max_length=500, required=False)


class ImportForm(forms.Form):
    file = forms.FileField()
    format = forms.ChoiceField(choices=BankStatement.Format.choices)
    currency = forms.CharField(max_length=3, initial="USD")
    closing_balance = forms.CharField(max_length=24, required=False, help_text="Needed when the CSV has no balance.")
    date_column = forms.CharField(initial="date")
    date_format = forms.CharField(initial="%Y-%m-%d")
    amount_column = forms.CharField(initial="amount", required=False, help_text="Signed amounts; or debit and credit.")
    debit_column = forms.CharField(required=False)
    credit_column = forms.CharField(required=False)
    description_column = forms.CharField(initial="description", required=False)
    reference_column = forms.CharField(initial="reference", required=False)
    balance_column = forms.CharField(required=False)

    def clean_currency(self) -> str:
        code = str(self.cleaned_data["currency"]).strip().upper()
        if not known_currency(code):
            raise ValidationError(f"{code!r} is not a currency; use an ISO 4217 code such as USD.")
        return code

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        closing = str(data.get("closing_balance") or "").strip()
        data["closing_balance_money"] = None
        if closing and data.get("currency"):
            try:
                data["closing_balance_money"] = Money.parse(closing, data["currency"])
            except ValueError as exc:
                self.add_error("closing_balance", f"Enter the closing balance as an amount such as 1500.00 ({exc}).")
        return data

    def mapping(self) -> CsvMapping:
        data = self.cleaned_data
        return CsvMapping(
            date=data["date_column"],
            amount=data["amount_column"] or None,
            debit=data["debit_column"] or None,
            credit=data["credit_column"] or None,
            description=data["description_column"] or None,
            reference=data["reference_column"] or None,
            balance=data["balance_column"] or None,
            date_format=data["date_format"],
        )


class CloseMonthForm(forms.Form):
    month = forms.CharField(max_length=7, help_text="YYYY-MM")
    currency = forms.CharField(max_length=3)
