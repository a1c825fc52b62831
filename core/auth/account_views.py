"""Pages of signing in and of a forgotten password: sign-in (remembering the browser), reset request, reset link."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm, SetPasswordForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from core.audit.actions import AuditAction
from core.audit.services import audit_record
from core.auth.browsers import browser_signed_in
from core.auth.reset import password_reset_request, reset_tokens

THROTTLED_STATUS = 429


class SignInView(auth_views.LoginView):
    """Django's sign-in page; a browser the person has not signed in from before is remembered and reported."""

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_valid(form)
        browser_signed_in(request=self.request, response=response, user=form.get_user())
        return response


class ResetRequestForm(forms.Form):
    email = forms.EmailField(label=_("Email"), max_length=254)


@require_http_methods(["GET", "POST"])
def password_reset(request: HttpRequest) -> HttpResponse:
    """Ask for a link by email. The answer never says whether the email has an account here."""
    form = ResetRequestForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        if not password_reset_request(email=form.cleaned_data["email"]):
            minutes = max(1, settings.PORTICO_PASSWORD_RESET_WINDOW_SECONDS // 60)
            context = {"throttled": True, "minutes": minutes, "form": ResetRequestForm()}
            return render(request, "registration/password_reset_form.html", context, status=THROTTLED_STATUS)
        return render(request, "registration/password_reset_sent.html")
    status = 400 if form.is_bound else 200
    return render(request, "registration/password_reset_form.html", {"form": form}, status=status)


class ResetConfirmView(auth_views.PasswordResetConfirmView):
    """The emailed link: choose a new password. Two-factor and the sign-in lockout are untouched."""

    token_generator = reset_tokens
    post_reset_login = False
    success_url = "/accounts/login/?reset=1"
    template_name = "registration/password_reset_confirm.html"
    extra_context: dict[str, Any] = {"purpose": "reset"}

    def form_valid(self, form: SetPasswordForm[Any]) -> HttpResponse:
        response = super().form_valid(form)
        audit_record(AuditAction.AUTH_RESET_DONE, actor=form.user, target=form.user)
        return response
