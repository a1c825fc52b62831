"""Encrypted model fields for identifiers the law and our clients expect us to protect.

For A-numbers, passport numbers, dates of birth, SSN/ITIN and bank account
numbers. The column holds Tink AES-256-GCM ciphertext under the current firm's
field key of the field's key class (``kms.fieldkeys``), bound to firm, table and
column; a companion ``KeyedHashField`` holds an HMAC of the normalised value so
the product can find a record by exact value::

    class Client(models.Model):
        a_number = EncryptedCharField(max_length=12)
        a_number_hash = KeyedHashField(of="a_number")
        date_of_birth = EncryptedDateField(null=True)
        trust_bank_account = EncryptedCharField(max_length=34, key_class="retention")

    Client.objects.filter(a_number_hash="A-123 456 789")   # hashes the plaintext for you

No plaintext reaches the database or its query log; decrypted values are
``str``/``date`` subclasses whose ``repr`` is redacted, so tracebacks, debug
pages and error reports show ``<sensitive>`` instead of the value. Only
``isnull`` lookups work on encrypted columns; ``exact``/``in`` on the hash field.
Fields are usable only inside a firm (``with tenant:``): the key is the firm's.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

import tink
from django import forms
from django.core import validators
from django.core.exceptions import FieldError
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Lookup

from kms.errors import DecryptionFailed
from kms.fieldkeys import field_cipher
from kms.models import KeyClass
from tenants.current import current_firm
from tenants.models import Tenant

_SEPARATORS = re.compile(r"[\s\-./]+")


def _refused(lookup_name: str, message: str) -> type[Lookup]:
    """A lookup that explains, when used, why it cannot work on this field."""

    class Refused(Lookup):
        def get_prep_lookup(self) -> Any:
            raise FieldError(message)

    Refused.lookup_name = lookup_name
    return Refused


class SensitiveStr(str):
    """A decrypted value: prints normally, but ``repr`` (tracebacks, debug pages) hides it."""

    def __repr__(self) -> str:
        return "<sensitive>"


class SensitiveDate(datetime.date):
    def __repr__(self) -> str:
        return "<sensitive date>"


class EncryptedField(models.Field):  # type: ignore[type-arg]
    """Base class: subclasses say how a Python value becomes bytes and back."""

    empty_strings_allowed = False

    def __init__(self, *args: Any, key_class: str = KeyClass.CLIENT, **kwargs: Any) -> None:
        if key_class not in KeyClass.values:
            raise ValueError(f"unknown key class {key_class!r} (known: {', '.join(KeyClass.values)})")
        self.key_class = key_class
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        if self.key_class != KeyClass.CLIENT:
            kwargs["key_class"] = self.key_class
        return name, path, args, kwargs

    def get_internal_type(self) -> str:
        return "BinaryField"

    # -- subclasses
    def encode(self, value: Any) -> bytes:
        raise NotImplementedError

    def decode(self, plaintext: bytes) -> Any:
        raise NotImplementedError

    def normalize(self, value: Any) -> bytes:
        """The bytes the keyed hash is computed over (e.g. case and separators ignored)."""
        return self.encode(value)

    # -- Django
    def _associated_data(self, firm: Tenant) -> bytes:
        return f"portico/field/v1\0firm={firm.slug}\0{self.model._meta.db_table}.{self.column}".encode()

    def get_db_prep_value(self, value: Any, connection: BaseDatabaseWrapper, prepared: bool = False) -> Any:
        if value is None:
            return None
        plaintext = self.encode(self.to_python(value))
        firm = current_firm(connection)
        cipher = field_cipher(tenant=firm, key_class=self.key_class)
        return cipher.aead.encrypt(plaintext, self._associated_data(firm))

    def from_db_value(self, value: Any, expression: Any, connection: BaseDatabaseWrapper) -> Any:
        if value is None:
            return None
        firm = current_firm(connection)
        cipher = field_cipher(tenant=firm, key_class=self.key_class)
        try:
            plaintext = cipher.aead.decrypt(bytes(value), self._associated_data(firm))
        except tink.TinkError:
            raise DecryptionFailed(
                f"{self.model._meta.label}.{self.name} of firm {firm.slug} failed authentication "
                "(altered, or copied from another firm or column)"
            ) from None
        return self.decode(plaintext)

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name != "isnull":
            return _refused(
                lookup_name,
                f"{self.name} is encrypted: look it up through its KeyedHashField (exact match only), "
                f"not '{lookup_name}'",
            )
        return super().get_lookup(lookup_name)

    def get_transform(self, lookup_name: str) -> Any:
        return None


class EncryptedCharField(EncryptedField):
    """Text identifiers: A-number, passport number, SSN/ITIN, bank account number."""

    def __init__(self, *args: Any, max_length: int | None = None, **kwargs: Any) -> None:
        self.plain_max_length = max_length
        super().__init__(*args, **kwargs)
        if max_length is not None:
            self.validators.append(validators.MaxLengthValidator(max_length))

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        if self.plain_max_length is not None:
            kwargs["max_length"] = self.plain_max_length
        return name, path, args, kwargs

    def to_python(self, value: Any) -> Any:
        if value is None or isinstance(value, str):
            return value
        return str(value)

    def encode(self, value: Any) -> bytes:
        return str(value).encode()

    def decode(self, plaintext: bytes) -> SensitiveStr:
        return SensitiveStr(plaintext.decode())

    def normalize(self, value: Any) -> bytes:
        return _SEPARATORS.sub("", str(value)).upper().encode()

    def formfield(self, **kwargs: Any) -> Any:
        return super().formfield(**{"form_class": forms.CharField, "max_length": self.plain_max_length, **kwargs})


class EncryptedDateField(EncryptedField):
    """Dates such as a date of birth."""

    def to_python(self, value: Any) -> Any:
        if value is None or (isinstance(value, datetime.date) and not isinstance(value, datetime.datetime)):
            return value
        if isinstance(value, str):
            return datetime.date.fromisoformat(value)
        raise ValueError(f"{self.name} expects a date")

    def encode(self, value: Any) -> bytes:
        day: datetime.date = self.to_python(value)
        return day.isoformat().encode()

    def decode(self, plaintext: bytes) -> SensitiveDate:
        day = datetime.date.fromisoformat(plaintext.decode())
        return SensitiveDate(day.year, day.month, day.day)

    def formfield(self, **kwargs: Any) -> Any:
        return super().formfield(**{"form_class": forms.DateField, **kwargs})


class KeyedHash(str):
    """A value already hashed by a ``KeyedHashField`` (passed through unchanged)."""


class KeyedHashField(models.CharField):  # type: ignore[type-arg]
    """HMAC-SHA256 (firm's field key) of another encrypted field's normalised value, for exact lookups.

    Filtering with a plaintext value hashes it: ``filter(a_number_hash="A123456789")``.
    """

    def __init__(self, *args: Any, of: str, **kwargs: Any) -> None:
        self.of = of
        kwargs.update(max_length=64, editable=False, null=True, db_index=True)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        for generated in ("max_length", "editable", "null", "db_index"):
            kwargs.pop(generated, None)
        kwargs["of"] = self.of
        return name, path, args, kwargs

    def _source(self) -> EncryptedField:
        source = self.model._meta.get_field(self.of)
        if not isinstance(source, EncryptedField):
            raise FieldError(f"{self.name}: {self.of} is not an encrypted field")
        return source

    def keyed_hash(self, value: Any) -> KeyedHash:
        source = self._source()
        firm = current_firm()
        cipher = field_cipher(tenant=firm, key_class=source.key_class)
        message = f"{self.model._meta.db_table}.{source.column}".encode() + b"\0" + source.normalize(value)
        return KeyedHash(cipher.keyed_hash(message).hex())

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        value = getattr(model_instance, self._source().attname)
        digest = None if value is None else self.keyed_hash(value)
        setattr(model_instance, self.attname, digest)
        return digest

    def get_prep_value(self, value: Any) -> Any:
        if value is None or isinstance(value, KeyedHash):
            return value
        return self.keyed_hash(value)

    def from_db_value(self, value: Any, expression: Any, connection: BaseDatabaseWrapper) -> Any:
        return None if value is None else KeyedHash(value)

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name not in {"exact", "in", "isnull"}:
            return _refused(
                lookup_name, f"{self.name} is a keyed hash: only exact, in and isnull lookups mean anything"
            )
        return super().get_lookup(lookup_name)
