"""Key records on the control plane (public schema): small, read-mostly, never plaintext keys.

- ``KeyEncryptionKey``: one row per firm, key class and version. With AWS KMS the
  row names the KMS key (ARN); with the local provider it holds the KEK as a
  Tink keyset sealed by the master key. Exactly one version per class is primary.
- ``FieldKey``: the firm's data key for encrypted model fields, per key class,
  wrapped by the primary KEK of that class (re-wrapped on rotation).
- ``SigningKey``: the platform's Ed25519 key for signing audit anchors, its
  private half sealed by the platform key provider.
"""

from __future__ import annotations

from django.db import models

from tenants.models import Tenant


class KeyClass(models.TextChoices):
    """Why data is kept, which decides when its keys may be destroyed.

    ``client``: a firm's client data; the KEK class is destroyed only when the firm
    is offboarded. One client's erasure (``portico tenants erase-client``) deletes
    that client's files with their data keys and blanks their encrypted fields.
    ``retention``: records the law makes the firm keep for years (trust ledger,
    invoices); its keys survive a client erasure, destroyed only when the firm is offboarded.
    """

    CLIENT = "client", "Client data (erasable)"
    RETENTION = "retention", "Retained records (trust ledger, 5-7 years)"


class Provider(models.TextChoices):
    LOCAL = "local", "Local master key"
    AWS = "aws", "AWS KMS"


class KeyEncryptionKey(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="key_encryption_keys")
    key_class = models.CharField(max_length=16, choices=KeyClass.choices)
    version = models.PositiveIntegerField()
    is_primary = models.BooleanField(default=False)
    provider = models.CharField(max_length=8, choices=Provider.choices)
    region = models.CharField(max_length=32)
    key_id = models.CharField(max_length=256, help_text="KMS key ARN, or local/<firm>/<class>/v<n>.")
    sealed_key = models.BinaryField(
        null=True, editable=False, help_text="Local provider: the KEK sealed by the master key."
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["tenant_id", "key_class", "version"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "key_class", "version"], name="kek_unique_version"),
            models.UniqueConstraint(
                fields=["tenant", "key_class"], condition=models.Q(is_primary=True), name="kek_one_primary_per_class"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key_id} ({self.key_class} v{self.version}{', primary' if self.is_primary else ''})"


class FieldKey(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="field_keys")
    key_class = models.CharField(max_length=16, choices=KeyClass.choices)
    kek_version = models.PositiveIntegerField()
    wrapped_aead = models.BinaryField(editable=False)
    wrapped_prf = models.BinaryField(editable=False)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "key_class"], name="fieldkey_one_per_class")]

    def __str__(self) -> str:
        return f"field key {self.tenant_id}/{self.key_class} (KEK v{self.kek_version})"


class SigningKey(models.Model):
    key_id = models.CharField(max_length=64, unique=True)
    public_key = models.BinaryField(editable=False)
    sealed_private_key = models.BinaryField(editable=False)
    sealed_by = models.CharField(max_length=300, help_text="Which platform key sealed the private half.")
    is_active = models.BooleanField(default=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"], condition=models.Q(is_active=True), name="one_active_signing_key"
            )
        ]

    def __str__(self) -> str:
        return self.key_id
