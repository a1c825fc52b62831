"""Firm administration: the firm's settings, users' roles, resetting a lost authenticator."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from billing.access import connected_accounts_for_user
from billing.stripe.models import ConnectedAccount
from core.access import user_for_user, users_for_user
from core.auth import two_factor
from core.models import FirmSettings
from core.roles import MANAGE_FIRM_SETTINGS, MANAGE_ROLES, Role, roles_of
from core.services import FIRM_SETTINGS_FIELDS, firm_settings_update, user_set_roles
from portal.forms import FirmSettingsForm, RolesForm
from portal.guards import require_staff, signed_in_user, wrong_method


@login_required
def firm_settings(request: HttpRequest) -> HttpResponse:
    user = require_staff(request, permission=MANAGE_FIRM_SETTINGS)
    if refused := wrong_method(request, "GET", "POST"):
        return refused
    current = FirmSettings.load()
    if request.method == "POST":
        form = FirmSettingsForm(request.POST)
        if form.is_valid():
            firm_settings_update(by=user, **form.cleaned_data)
            messages.success(request, "Settings saved.")
            return HttpResponseRedirect(reverse("portal:firm_settings"))
    else:
        form = FirmSettingsForm(initial={name: getattr(current, name) for name in FIRM_SETTINGS_FIELDS})
    accounts = {account.kind: account for account in connected_accounts_for_user(user)}
    payment_accounts = [(kind, label, accounts.get(kind)) for kind, label in ConnectedAccount.Kind.choices]
    return render(request, "portal/firm_settings.html", {"form": form, "payment_accounts": payment_accounts})


@login_required
def user_list(request: HttpRequest) -> HttpResponse:
    user = require_staff(request, permission=MANAGE_ROLES)
    if refused := wrong_method(request, "GET"):
        return refused
    users = list(users_for_user(user).prefetch_related("groups").order_by("email"))
    enrolled = set(TOTPDevice.objects.filter(confirmed=True).values_list("user_id", flat=True))
    rows = [{"user": u, "roles": {r.value for r in roles_of(u)}, "two_factor": u.pk in enrolled} for u in users]
    return render(request, "portal/users.html", {"rows": rows, "all_roles": [role.value for role in Role]})


@login_required
def user_roles(request: HttpRequest, user_id: int) -> HttpResponse:
    target = user_for_user(signed_in_user(request), user_id)
    by = require_staff(request, permission=MANAGE_ROLES)
    if refused := wrong_method(request, "POST"):
        return refused
    form = RolesForm(request.POST)
    if form.is_valid():
        try:
            user_set_roles(user=target, roles={Role(r) for r in form.cleaned_data["roles"]}, by=by)
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
        else:
            messages.success(request, f"Roles of {target.email} saved.")
    return HttpResponseRedirect(reverse("portal:users"))


@login_required
def user_two_factor_reset(request: HttpRequest, user_id: int) -> HttpResponse:
    target = user_for_user(signed_in_user(request), user_id)
    by = require_staff(request, permission=MANAGE_ROLES)
    if refused := wrong_method(request, "POST"):
        return refused
    two_factor.reset(user=target, by=by)
    messages.success(
        request, f"Two-factor authentication of {target.email} was reset; they set it up again at sign-in."
    )
    return HttpResponseRedirect(reverse("portal:users"))
