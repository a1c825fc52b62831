"""Forms of the staff workspace."""

from __future__ import annotations

from typing import Any

from django import forms

from core.access import possible_grantees
from core.models import User
from core.roles import Role


class ExpiryField(forms.DateTimeField):
    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("input_formats", ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"])
        kwargs.setdefault("label", "Access ends (UTC)")
        super().__init__(**kwargs)


class GrantForm(forms.Form):
    grantee: forms.ModelChoiceField[User] = forms.ModelChoiceField(queryset=None, label="Person")
    expires_at = ExpiryField()
    reason = forms.CharField(max_length=500, label="Why (shown in the access review)")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        grantee = self.fields["grantee"]
        assert isinstance(grantee, forms.ModelChoiceField)
        # Grants are for staff and outside counsel; a client is never given someone else's matter.
        grantee.queryset = possible_grantees()


class GrantExpiryForm(forms.Form):
    expires_at = ExpiryField()


class FirmSettingsForm(forms.Form):
    require_staff_two_factor = forms.BooleanField(required=False, label="Staff must use two-factor authentication")
    attorneys_see_all_matters = forms.BooleanField(
        required=False, label="Attorneys see every matter (not only those assigned to them)"
    )


class RolesForm(forms.Form):
    roles = forms.MultipleChoiceField(
        choices=[(role.value, role.value) for role in Role], required=False, widget=forms.CheckboxSelectMultiple
    )
