"""TOTP two-factor authentication with django-otp: enrol, confirm, verify at sign-in, turn off.

A user has at most one confirmed authenticator. Enrolling creates an
unconfirmed device whose secret is shown once (QR code and text); a code from
the app confirms it. Staff with a confirmed device must enter a code after
their password on every sign-in (``StaffTwoFactorMiddleware``); when the firm
requires two-factor, staff without one are sent to enrol first. Every change is
audited (``otp.enabled``, ``otp.disabled``, ``otp.reset``) and confirmed to the
person by email (``core.auth.emails``, after the commit). Turning it on makes ten
backup codes (``core.auth.backup_codes``), which the prompt also accepts; turning
it off or a reset removes them.
"""

from __future__ import annotations

import base64
from io import BytesIO

import django_otp
import qrcode
import qrcode.image.svg
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.audit.actions import AuditAction
from core.audit.services import audit_record
from core.auth.backup_codes import (
    backup_code_verify,
    backup_codes_generate,
    backup_codes_remove,
    looks_like_backup_code,
)
from core.auth.emails import two_factor_changed_email
from core.models import FirmSettings, User
from core.roles import MANAGE_ROLES
from tenants.db import tenant_connection

DEVICE_NAME = "Authenticator app"


def totp_issuer() -> str:
    tenant = getattr(tenant_connection(), "tenant", None)
    name = getattr(tenant, "name", "") or "Portico"
    return f"{name} (Portico)"


def confirmed_device(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def has_two_factor(user: User) -> bool:
    return bool(TOTPDevice.objects.filter(user=user, confirmed=True).exists())  # django-otp is untyped


def two_factor_required(user: User) -> bool:
    """Whether the firm requires ``user`` to use two-factor (staff only)."""
    return bool(user.is_staff and FirmSettings.load().require_staff_two_factor)


@transaction.atomic
def enrolment_start(*, user: User) -> TOTPDevice:
    """A fresh unconfirmed authenticator for ``user``; any earlier unconfirmed one is discarded."""
    if has_two_factor(user):
        raise ValidationError("Two-factor authentication is already on.")
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)


def pending_device(user: User, device_id: object) -> TOTPDevice | None:
    try:
        pk = int(str(device_id))
    except ValueError:
        return None
    return TOTPDevice.objects.filter(user=user, confirmed=False, pk=pk).first()


def secret_text(device: TOTPDevice) -> str:
    """The secret as authenticator apps accept it typed in (base32, in groups of four)."""
    encoded = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(encoded[i : i + 4] for i in range(0, len(encoded), 4))


def qr_code_svg(device: TOTPDevice) -> str:
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = BytesIO()
    image.save(buffer)
    svg = buffer.getvalue().decode()
    return svg[svg.index("<svg") :]  # drop the XML declaration so it can sit inline in HTML


@transaction.atomic
def enrolment_confirm(*, device: TOTPDevice, code: str, request: HttpRequest) -> list[str] | None:
    """Turn two-factor on when ``code`` comes from the new device; the session counts as verified.

    Returns the new backup codes (to be shown this once), or None when the code is wrong.
    """
    device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
    if device.confirmed or not device.verify_token(code.strip()):
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    django_otp.login(request, device)
    user = device.user
    audit_record(AuditAction.OTP_ENABLED, actor=user, target=user, data={"method": "totp"})
    codes = backup_codes_generate(user=user)
    transaction.on_commit(lambda: two_factor_changed_email(user=user, on=True))
    return codes


def verify(*, user: User, code: str, request: HttpRequest) -> bool:
    """Check a sign-in code (from the app, or a backup code); on success the session is two-factor verified."""
    if looks_like_backup_code(code):  # never six digits, so a backup code does not count against the app's code
        return has_two_factor(user) and backup_code_verify(user=user, code=code, request=request)
    device = confirmed_device(user)
    if device is None or not device.verify_token(code.strip()):
        return False
    django_otp.login(request, device)
    return True


@transaction.atomic
def disable(*, user: User, code: str) -> None:
    """The user turns their own two-factor off, proving it with a current code."""
    device = confirmed_device(user)
    if device is None:
        raise ValidationError("Two-factor authentication is not on.")
    if two_factor_required(user):
        raise ValidationError("Your firm requires two-factor authentication for staff; it cannot be turned off.")
    if not device.verify_token(code.strip()):
        raise ValidationError("That code is not right. Enter the current code from your authenticator app.")
    TOTPDevice.objects.filter(user=user).delete()
    backup_codes_remove(user=user)
    audit_record(AuditAction.OTP_DISABLED, actor=user, target=user, data={"method": "totp"})
    transaction.on_commit(lambda: two_factor_changed_email(user=user, on=False))


@transaction.atomic
def reset(*, user: User, by: User) -> None:
    """A firm admin removes someone's authenticator (a lost phone); they enrol again at next sign-in."""
    if not by.has_perm(MANAGE_ROLES):
        raise PermissionDenied("Only a firm admin may reset two-factor authentication.")
    deleted, _ = TOTPDevice.objects.filter(user=user).delete()
    backup_codes_remove(user=user)
    if deleted:
        audit_record(AuditAction.OTP_RESET, actor=by, target=user, data={"user": user.email})
        transaction.on_commit(lambda: two_factor_changed_email(user=user, on=False, by_admin=True))
