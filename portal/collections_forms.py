"""Forms of the collections pages: a reminder tier, the collections settings, pausing a client's reminders."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from billing.collections.models import ReminderTier


class ReminderTierForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = ReminderTier
        fields = (
            "name",
            "offset_days",
            "email_client",
            "create_task",
            "escalate_to_partner",
            "subject_en",
            "body_en",
            "subject_es",
            "body_es",
            "active",
        )
        widgets = {"body_en": forms.Textarea(attrs={"rows": 5}), "body_es": forms.Textarea(attrs={"rows": 5})}


class CollectionsSettingsForm(forms.Form):
    quiet_days = forms.IntegerField(label=_("No reminder if one was sent within (days)"), min_value=0, max_value=365)
    at_risk_days = forms.IntegerField(
        label=_("A matter is at risk when a checklist item is due within (days)"), min_value=0, max_value=365
    )
    report_weekday = forms.TypedChoiceField(
        label=_("Weekly partner report: day"),
        coerce=int,
        required=False,
        empty_value=None,
        choices=[
            (0, _("Monday")),
            (1, _("Tuesday")),
            (2, _("Wednesday")),
            (3, _("Thursday")),
            (4, _("Friday")),
            (5, _("Saturday")),
            (6, _("Sunday")),
        ],
    )
    report_hour = forms.IntegerField(
        label=_("Weekly partner report: hour (0-23)"), min_value=0, max_value=23, required=False
    )


class PauseForm(forms.Form):
    reason = forms.CharField(label=_("Why pause reminders"), max_length=500)
