"""Two-factor backup codes: ten single-use codes for when the authenticator app is not at hand.

* ``backup_codes_generate(*, user) -> list[str]`` — a fresh set (the old set stops working);
  the codes are returned once, to be shown once, and only their keyed digests are kept.
* ``backup_codes_left(user) -> int`` — how many are still unused.
* ``backup_code_verify(*, user, code, request) -> bool`` — at the two-factor prompt: a right,
  unused code verifies the session (django-otp's login, like the authenticator) and is spent.

A code is ten letters and digits of RFC 4648 base32 (50 random bits), shown as ``abcde-fghij``;
typing it in any case, with or without the hyphen or spaces, works. It is stored as
HMAC-SHA256 under ``SECRET_KEY`` of the user's id and the code, so the database alone
reveals nothing (django-otp's ``otp_static`` keeps its tokens in plain text, hence this).
Wrong codes slow further tries as the authenticator does (django-otp's throttling).
"""

from __future__ import annotations

import secrets

import django_otp
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from core.audit.actions import AuditAction
from core.audit.services import audit_record
from core.models import BackupCode, BackupCodeDevice, User

CODE_COUNT = 10
_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
_LENGTH = 10
DEVICE_NAME = "Backup codes"


def _normalised(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def looks_like_backup_code(code: str) -> bool:
    text = _normalised(code)
    return len(text) == _LENGTH and all(character in _ALPHABET for character in text)


def _digest(user_id: int, code: str) -> str:
    return salted_hmac("portico.backup_code", f"{user_id}:{_normalised(code)}", algorithm="sha256").hexdigest()


def _new_code() -> str:
    text = "".join(secrets.choice(_ALPHABET) for _ in range(_LENGTH))
    return f"{text[:5]}-{text[5:]}"


@transaction.atomic
def backup_codes_generate(*, user: User) -> list[str]:
    """Replace ``user``'s backup codes with ten new ones; the codes are returned here and never again."""
    # The device is kept (only its codes change): a session verified with a backup code stays verified.
    device = BackupCodeDevice.objects.select_for_update().filter(user=user).first()
    if device is None:
        device = BackupCodeDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=True)
    device.codes.all().delete()
    device.throttle_reset()
    codes = [_new_code() for _ in range(CODE_COUNT)]
    BackupCode.objects.bulk_create(BackupCode(device=device, digest=_digest(user.pk, code)) for code in codes)
    audit_record(AuditAction.OTP_BACKUP_CODES_GENERATED, actor=user, target=user, data={"count": CODE_COUNT})
    return codes


def backup_codes_left(user: User) -> int:
    return BackupCode.objects.filter(device__user=user, used_at__isnull=True).count()


def backup_codes_remove(*, user: User) -> None:
    """With the authenticator gone (turned off, reset), its backup codes go too."""
    BackupCodeDevice.objects.filter(user=user).delete()


@transaction.atomic
def backup_code_use(*, device: BackupCodeDevice, code: str) -> bool:
    """Spend ``code`` on ``device`` if it is one of its unused codes; a wrong one counts towards throttling."""
    device = BackupCodeDevice.objects.select_for_update().get(pk=device.pk)
    allowed, _why = device.verify_is_allowed()
    if not allowed:
        return False
    digest = _digest(device.user_id, code)
    match = next(
        (
            row
            for row in BackupCode.objects.filter(device=device, used_at__isnull=True)
            if constant_time_compare(row.digest, digest)
        ),
        None,
    )
    if match is None:
        device.throttle_increment()
        return False
    match.used_at = timezone.now()
    match.save(update_fields=["used_at"])
    device.throttle_reset()
    left = BackupCode.objects.filter(device=device, used_at__isnull=True).count()
    audit_record(AuditAction.OTP_BACKUP_CODE_USED, actor=device.user, target=device.user, data={"left": left})
    return True


def backup_code_verify(*, user: User, code: str, request: HttpRequest) -> bool:
    device = BackupCodeDevice.objects.filter(user=user).first()
    if device is None or not device.verify_token(code):
        return False
    django_otp.login(request, device)
    return True
