"""Forms of the client portal: one intake question at a time, an upload with its metadata, a message.

Labels and errors are marked for translation; question labels come from the
firm's data in the active language (``IntakeQuestion.label``).
"""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from core.models import IntakeQuestion

Kind = IntakeQuestion.Kind


def intake_field(question: IntakeQuestion, initial: object) -> forms.Field:
    """The form field that asks ``question`` (validation proper is ``core.intake``'s; this only shapes the input)."""
    common: dict[str, Any] = {"label": question.label, "help_text": question.help, "required": False}
    if question.kind == Kind.YES_NO:
        value = {True: "yes", False: "no"}.get(initial) if isinstance(initial, bool) else None
        return forms.ChoiceField(
            choices=[("yes", _("Yes")), ("no", _("No"))], widget=forms.RadioSelect, initial=value, **common
        )
    if question.kind == Kind.CHOICE:
        return forms.ChoiceField(choices=question.choice_options(), widget=forms.RadioSelect, initial=initial, **common)
    if question.kind == Kind.DATE:
        return forms.CharField(
            widget=forms.DateInput(attrs={"type": "date", "max": datetime.date.today().isoformat()}),  # noqa: DTZ011
            initial=initial,
            **common,
        )
    if question.kind == Kind.NUMBER:
        attrs = {"inputmode": "numeric", "min": question.min_value, "max": question.max_value}
        return forms.CharField(
            widget=forms.NumberInput(attrs={k: v for k, v in attrs.items() if v is not None}), initial=initial, **common
        )
    return forms.CharField(widget=forms.TextInput(attrs={"autocomplete": "off"}), initial=initial, **common)


class UploadForm(forms.Form):
    """The file (chosen, dropped or photographed) and what it is. The file itself is checked by ``core.uploads``."""

    file = forms.FileField(label=_("Choose a file"), required=False)
    photo = forms.FileField(label=_("Take a photo"), required=False)
    document_type = forms.CharField(label=_("Document type"), max_length=100, required=False)
    document_date = forms.DateField(
        label=_("Date on the document"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": _("Enter a date like 2024-03-31.")},
    )
    signer = forms.CharField(label=_("Signed or issued by"), max_length=200, required=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not cleaned.get("file") and not cleaned.get("photo"):
            self.add_error("file", _("Choose a file or take a photo first."))
        return cleaned

    def chosen(self) -> Any:
        return self.cleaned_data.get("file") or self.cleaned_data.get("photo")


class MessageForm(forms.Form):
    body = forms.CharField(
        label=_("Your message"), widget=forms.Textarea(attrs={"rows": 4}), max_length=5000, required=True
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["body"].error_messages["required"] = _("Write a message first.")
