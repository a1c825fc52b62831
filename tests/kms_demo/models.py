"""A client's identity documents, as the product's client records will hold them (tests only)."""

from __future__ import annotations

from django.db import models

from kms.fields import EncryptedCharField, EncryptedDateField, KeyedHashField


class ClientIdentity(models.Model):
    full_name = models.CharField(max_length=200)
    a_number = EncryptedCharField(max_length=12, null=True)
    a_number_hash = KeyedHashField(of="a_number")
    passport_number = EncryptedCharField(max_length=20, null=True)
    passport_number_hash = KeyedHashField(of="passport_number")
    date_of_birth = EncryptedDateField(null=True)
    ssn = EncryptedCharField(max_length=11, null=True)
    ssn_hash = KeyedHashField(of="ssn")
    bank_account_number = EncryptedCharField(max_length=34, null=True, key_class="retention")

    def __str__(self) -> str:
        return self.full_name
