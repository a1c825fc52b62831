"""What a person's account keeps beyond the user row: two-factor backup codes and the browsers they sign in from.

``BackupCodeDevice`` is a django-otp device (so a backup code verifies the session
as the authenticator does), holding ten single-use ``BackupCode`` rows. The codes
are stored as keyed digests only (HMAC-SHA256 under the secret key,
``core.auth.backup_codes``): django-otp's own static-token plugin keeps its tokens
in plain text, which a database reader could use. ``KnownBrowser`` remembers the
browsers a person has signed in from (by the digest of a long-lived random cookie),
so that a sign-in from any other one is emailed to them (``core.auth.browsers``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django_otp.models import Device, ThrottlingMixin


class BackupCodeDevice(ThrottlingMixin, Device):  # type: ignore[misc]  # django-otp is untyped
    """A person's set of backup codes (one per person; made when two-factor is turned on, replaced on request)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="backup_code_devices")
    created = models.DateTimeField(auto_now_add=True)

    def get_throttle_factor(self) -> int:
        return 1

    def verify_token(self, token: str) -> bool:
        from core.auth.backup_codes import backup_code_use

        return backup_code_use(device=self, code=token)


class BackupCode(models.Model):
    device = models.ForeignKey(BackupCodeDevice, on_delete=models.CASCADE, related_name="codes")
    digest = models.CharField(max_length=64, help_text="HMAC-SHA256 of the code; the code itself is never stored.")
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["device", "digest"], name="backup_code_unique_per_device")]

    def __str__(self) -> str:
        return f"backup code {self.pk} ({'used' if self.used_at else 'unused'})"


class KnownBrowser(models.Model):
    """A browser someone has signed in from: the digest of its ``portico_browser`` cookie, for them."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="known_browsers")
    digest = models.CharField(max_length=64)
    user_agent = models.CharField(max_length=512, blank=True)
    first_seen = models.DateTimeField(auto_now_add=True)
    last_seen = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "digest"], name="known_browser_unique_per_user")]

    def __str__(self) -> str:
        return f"{self.user} on {self.user_agent[:40]}"
