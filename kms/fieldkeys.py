"""Field keys: the data keys behind encrypted model fields, one pair per firm and key class.

A field key is two Tink keysets: AES-256-GCM for the values and HMAC-SHA256
(a PRF) for the keyed hashes that make exact lookups possible. Both are wrapped
by the firm's primary KEK of their class (``kms.FieldKey``, public schema);
rotation re-wraps them, so stored values and hashes stay valid.

Unwrapped keys are cached per process for ``CACHE_SECONDS`` so that a page of
records costs no key-service calls. Destroying a firm's keys clears this
process's cache at once; other processes stop using their copy within
``CACHE_SECONDS``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import tink
from django.db import IntegrityError, transaction
from tink import aead, prf, proto_keyset_format, secret_key_access

from kms import keys
from kms.errors import DecryptionFailed, KeyNotFound
from kms.models import FieldKey
from tenants.models import Tenant

aead.register()
prf.register()

CACHE_SECONDS = 300.0
PURPOSE = "field"


@dataclass(frozen=True)
class FieldCipher:
    aead: aead.Aead
    prf: prf.PrfSet

    def keyed_hash(self, value: bytes) -> bytes:
        digest: bytes = self.prf.primary().compute(value, 32)  # tink is untyped
        return digest


def _context(tenant: Tenant, key_class: str, part: str) -> dict[str, str]:
    return keys.envelope_context(tenant=tenant, key_class=key_class, purpose=PURPOSE, name=f"field-key/{part}")


def _wrap_new(tenant: Tenant, key_class: str, template: tink.proto.tink_pb2.KeyTemplate, part: str) -> keys.Wrapped:
    serialized = proto_keyset_format.serialize(tink.new_keyset_handle(template), secret_key_access.TOKEN)
    return keys.wrap(
        tenant=tenant, key_class=key_class, plaintext=serialized, context=_context(tenant, key_class, part)
    )


def field_keys_ensure(*, tenant: Tenant) -> None:
    """Give the firm a field key for every key class that has none (after its KEKs exist)."""
    existing = set(FieldKey.objects.filter(tenant_id=tenant.pk).values_list("key_class", flat=True))
    for key_class in keys.KEY_CLASSES:
        if key_class in existing:
            continue
        value_key = _wrap_new(tenant, key_class, aead.aead_key_templates.AES256_GCM, "aead")
        hash_key = _wrap_new(tenant, key_class, prf.prf_key_templates.HMAC_SHA256, "prf")
        if value_key.kek_version != hash_key.kek_version:
            raise KeyNotFound(f"firm {tenant.slug}: the {key_class} key rotated during onboarding; retry")
        try:
            with transaction.atomic():
                FieldKey.objects.create(
                    tenant=tenant,
                    key_class=key_class,
                    kek_version=value_key.kek_version,
                    wrapped_aead=value_key.blob,
                    wrapped_prf=hash_key.blob,
                )
        except IntegrityError:
            pass  # created concurrently: theirs is as good


_cache: dict[tuple[int, str, str], tuple[float, FieldCipher]] = {}
_lock = threading.Lock()


def _load(tenant: Tenant, key_class: str) -> FieldCipher:
    record = FieldKey.objects.filter(tenant_id=tenant.pk, key_class=key_class).first()
    if record is None:
        raise KeyNotFound(f"firm {tenant.slug} has no {key_class} field key (not provisioned, or destroyed)")
    parts = []
    for part, blob in (("aead", record.wrapped_aead), ("prf", record.wrapped_prf)):
        wrapped = keys.Wrapped(record.kek_version, bytes(blob))
        serialized = keys.unwrap(
            tenant=tenant, key_class=key_class, wrapped=wrapped, context=_context(tenant, key_class, part)
        )
        try:
            parts.append(proto_keyset_format.parse(serialized, secret_key_access.TOKEN))
        except tink.TinkError:
            raise DecryptionFailed(f"firm {tenant.slug}: the {key_class} field key is not a keyset") from None
    return FieldCipher(aead=parts[0].primitive(aead.Aead), prf=parts[1].primitive(prf.PrfSet))


def field_cipher(*, tenant: Tenant, key_class: str) -> FieldCipher:
    cache_key = (int(tenant.pk), tenant.slug, key_class)
    now = time.monotonic()
    with _lock:
        cached = _cache.get(cache_key)
    if cached is not None and now - cached[0] < CACHE_SECONDS:
        return cached[1]
    cipher = _load(tenant, key_class)
    with _lock:
        _cache[cache_key] = (now, cipher)
    return cipher


def field_keys_rewrap(*, tenant: Tenant) -> int:
    """Re-wrap the firm's field keys under the primary KEKs; returns how many keys changed."""
    changed = 0
    for record in FieldKey.objects.filter(tenant_id=tenant.pk):
        blobs = {}
        version = record.kek_version
        for part, blob in (("aead", record.wrapped_aead), ("prf", record.wrapped_prf)):
            new = keys.rewrap(
                tenant=tenant,
                key_class=record.key_class,
                wrapped=keys.Wrapped(record.kek_version, bytes(blob)),
                context=_context(tenant, record.key_class, part),
            )
            blobs[part], version = new.blob, new.kek_version
        if version != record.kek_version:
            FieldKey.objects.filter(pk=record.pk, kek_version=record.kek_version).update(
                kek_version=version, wrapped_aead=blobs["aead"], wrapped_prf=blobs["prf"]
            )
            changed += 1
    return changed


def field_keys_forget(*, tenant: Tenant | None = None) -> None:
    """Drop cached field keys (of one firm, or all)."""
    with _lock:
        for cache_key in list(_cache):
            if tenant is None or cache_key[0] == tenant.pk:
                del _cache[cache_key]
