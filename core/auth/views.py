"""Pages for two-factor authentication: set up or turn off, backup codes, and the code step after the password."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods
from django_otp.middleware import is_verified
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.auth import two_factor
from core.auth.backup_codes import backup_codes_generate, backup_codes_left, looks_like_backup_code
from core.models import User

PENDING_DEVICE_KEY = "portico_enrolling_device"


def _next_url(request: HttpRequest) -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return wanted
    return reverse(settings.LOGIN_REDIRECT_URL)


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # login_required ran
    return user


def _enrolment_page(request: HttpRequest, device: TOTPDevice, *, error: str = "", status: int = 200) -> HttpResponse:
    request.session[PENDING_DEVICE_KEY] = device.pk
    context = {
        "qr_svg": two_factor.qr_code_svg(device),
        "secret": two_factor.secret_text(device),
        "error": error,
        "next": _next_url(request),
        "required": two_factor.two_factor_required(_user(request)),
    }
    return render(request, "registration/two_factor_setup.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_settings(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if two_factor.has_two_factor(user):
        return _two_factor_on(request, user)
    if request.method == "POST":
        device = two_factor.pending_device(user, request.session.get(PENDING_DEVICE_KEY, ""))
        if device is None:
            return HttpResponseRedirect(reverse("two_factor"))
        codes = two_factor.enrolment_confirm(device=device, code=request.POST.get("code", ""), request=request)
        if codes is None:
            return _enrolment_page(
                request, device, error="That code is not right. Enter the 6-digit code your app shows now.", status=400
            )
        request.session.pop(PENDING_DEVICE_KEY, None)
        return _codes_page(request, codes, turned_on=True)
    return _enrolment_page(request, two_factor.enrolment_start(user=user))


def _codes_page(request: HttpRequest, codes: list[str], *, turned_on: bool = False) -> HttpResponse:
    """The new backup codes, shown this once (the page is not cached and the codes are kept only as digests)."""
    context = {"codes": codes, "turned_on": turned_on, "next": _next_url(request)}
    response = render(request, "registration/two_factor_backup_codes.html", context)
    response["Cache-Control"] = "no-store"
    return response


def _left_text(left: int) -> str:
    return ngettext("You have %(count)d backup code left.", "You have %(count)d backup codes left.", left) % {
        "count": left
    }


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_backup_codes(request: HttpRequest) -> HttpResponse:
    """How many backup codes are left, and a new set on request (the old set stops working)."""
    user = _user(request)
    if not two_factor.has_two_factor(user):
        return HttpResponseRedirect(reverse("two_factor"))
    if not is_verified(user):  # a session that has not passed the code step (clients are not held at it)
        return HttpResponseRedirect(f"{reverse('two_factor_verify')}?next={reverse('two_factor_backup_codes')}")
    if request.method == "POST":
        return _codes_page(request, backup_codes_generate(user=user))
    context = {"left": backup_codes_left(user), "left_text": _left_text(backup_codes_left(user))}
    return render(request, "registration/two_factor_backup_codes.html", context)


def _two_factor_on(request: HttpRequest, user: User) -> HttpResponse:
    error = ""
    if request.method == "POST":
        try:
            two_factor.disable(user=user, code=request.POST.get("code", ""))
        except ValidationError as exc:
            error = exc.messages[0]
        else:
            messages.success(request, "Two-factor authentication is off.")
            return HttpResponseRedirect(reverse("two_factor"))
    left = backup_codes_left(user)
    context = {"error": error, "required": two_factor.two_factor_required(user), "left_text": _left_text(left)}
    return render(request, "registration/two_factor_on.html", context, status=400 if error else 200)


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_verify(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not two_factor.has_two_factor(user):
        return HttpResponseRedirect(reverse("two_factor"))
    error = ""
    if request.method == "POST":
        code = request.POST.get("code", "")
        if two_factor.verify(user=user, code=code, request=request):
            if looks_like_backup_code(code):
                messages.warning(request, _left_text(backup_codes_left(user)))
            return HttpResponseRedirect(_next_url(request))
        error = _("That code is not right. Enter the 6-digit code your app shows now, or one of your backup codes.")
    context = {"error": error, "next": _next_url(request)}
    return render(request, "registration/two_factor_verify.html", context, status=400 if error else 200)
