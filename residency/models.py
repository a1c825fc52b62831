"""The firm's inventory of stored files, in the firm's own schema (tenant silo).

One row per object: where its ciphertext lives (region, backend, bucket,
version) and its wrapped data key with the KEK class and version that wrapped
it. The row is written only after the ciphertext is safely stored, so a row
always points at a complete object; rotation re-wraps ``wrapped_data_key`` in
place without touching the file.
"""

from __future__ import annotations

from django.db import models


class StoredObject(models.Model):
    class Backend(models.TextChoices):
        LOCAL = "local", "Local filesystem"
        S3 = "s3", "Amazon S3"

    name = models.CharField(max_length=512, unique=True, help_text="Object key within the firm.")
    key_class = models.CharField(max_length=16)
    kek_version = models.PositiveIntegerField()
    wrapped_data_key = models.BinaryField(editable=False)
    size = models.BigIntegerField(help_text="Plaintext bytes.")
    stored_size = models.BigIntegerField(help_text="Ciphertext bytes as stored.")
    sha256 = models.CharField(max_length=64, help_text="SHA-256 of the plaintext, hex.")
    region = models.CharField(max_length=32)
    backend = models.CharField(max_length=8, choices=Backend.choices)
    bucket = models.CharField(max_length=63, blank=True)
    version_id = models.CharField(max_length=1024, blank=True, help_text="S3 version of the ciphertext.")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["key_class", "kek_version"], name="storedobject_kek")]

    def __str__(self) -> str:
        return self.name
