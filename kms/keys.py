"""A firm's key-encryption keys (KEKs): create, look up, wrap and unwrap data keys, rotate, destroy.

A firm has one KEK per key class (``client``, ``retention``; see
``kms.models.KeyClass``) and version. The provider is the firm's region's at
the time the key is created (the caller reads it from ``residency.regions`` and
passes it in: kms sits below residency), and is recorded on the key, so
changing a region's configuration never strands existing keys.

Data keys (one per file, one per key class for fields) are wrapped by the
primary KEK of their class under a context naming firm, class, purpose and
object; the wrapped form is stored with the data, with the KEK version.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import connection, transaction

from kms.errors import KeyNotFound, KmsError
from kms.models import KeyClass, KeyEncryptionKey
from kms.providers import Context, KekRef, provider_for
from tenants.models import Tenant

KEY_CLASSES: tuple[str, ...] = tuple(KeyClass.values)


@dataclass(frozen=True)
class Wrapped:
    kek_version: int
    blob: bytes


def envelope_context(*, tenant: Tenant, key_class: str, purpose: str, name: str) -> dict[str, str]:
    """The pairs a data key is bound to: a wrapped key presented for anything else is refused."""
    return {"portico:firm": tenant.slug, "portico:class": key_class, "portico:purpose": purpose, "portico:object": name}


def _check_class(key_class: str) -> None:
    if key_class not in KEY_CLASSES:
        raise ValueError(f"unknown key class {key_class!r} (known: {', '.join(KEY_CLASSES)})")


def _ref(kek: KeyEncryptionKey) -> KekRef:
    sealed = bytes(kek.sealed_key) if kek.sealed_key is not None else None
    return KekRef(key_id=kek.key_id, region=kek.region, sealed_key=sealed)


def _create_version(*, tenant: Tenant, key_class: str, version: int, provider_name: str) -> KeyEncryptionKey:
    provider = provider_for(provider_name)
    created = provider.create_kek(firm=tenant.slug, key_class=key_class, version=version, region=tenant.region)
    return KeyEncryptionKey.objects.create(
        tenant=tenant,
        key_class=key_class,
        version=version,
        is_primary=True,
        provider=provider.name,
        region=tenant.region,
        key_id=created.key_id,
        sealed_key=created.sealed_key,
    )


def keks_ensure(*, tenant: Tenant, provider: str) -> list[KeyEncryptionKey]:
    """Give the firm a KEK for every key class that has none; returns the keys created now.

    ``provider`` (``local`` or ``aws``) is the firm's region's key provider, which the
    caller reads from the region registry; it is recorded on each key.
    """
    created = []
    with transaction.atomic():
        existing = set(KeyEncryptionKey.objects.filter(tenant=tenant).values_list("key_class", flat=True))
        for key_class in KEY_CLASSES:
            if key_class not in existing:
                created.append(_create_version(tenant=tenant, key_class=key_class, version=1, provider_name=provider))
    return created


def kek_primary(*, tenant: Tenant, key_class: str) -> KeyEncryptionKey:
    _check_class(key_class)
    kek = KeyEncryptionKey.objects.filter(tenant_id=tenant.pk, key_class=key_class, is_primary=True).first()
    if kek is None:
        raise KeyNotFound(f"firm {tenant.slug} has no {key_class} key (not provisioned, or destroyed)")
    return kek


# File keys are wrapped under a primary KEK remembered per process (wrap_many(cached=True)),
# which saves a query on every upload. That is safe because the firm's inventory refuses a row
# whose version is not the primary (residency migration 0002, SQLSTATE STALE_PRIMARY): after a
# rotation or a destruction by any process, or a transaction that created the key and rolled
# back, the storage forgets the remembered key (primary_forget) and wraps the same data key again.
STALE_PRIMARY = "PK409"
_primaries: dict[tuple[int, str], KeyEncryptionKey] = {}
_primaries_lock = threading.Lock()


def _kek_primary_remembered(*, tenant: Tenant, key_class: str) -> tuple[KeyEncryptionKey, bool]:
    """The remembered primary, or the database's (remembered from now on); and whether it was remembered."""
    cache_key = (int(tenant.pk), key_class)
    with _primaries_lock:
        kek = _primaries.get(cache_key)
    if kek is not None:
        return kek, True
    kek = kek_primary(tenant=tenant, key_class=key_class)
    with _primaries_lock:
        if len(_primaries) > 4096:
            _primaries.clear()
        _primaries[cache_key] = kek
    return kek, False


def primary_forget(*, tenant: Tenant) -> None:
    """Forget this process's remembered primary KEKs of ``tenant`` (after a refusal, rotation or destruction)."""
    with _primaries_lock:
        for cache_key in [k for k in _primaries if k[0] == tenant.pk]:
            del _primaries[cache_key]


def is_stale_primary(exc: BaseException) -> bool:
    """Whether a database error is the inventory refusing a data key wrapped under a non-primary version."""
    cause = exc.__cause__ or exc
    return getattr(cause, "sqlstate", None) == STALE_PRIMARY


# A committed version never changes, so a looked-up version is kept for reads (unwrapping)
# for a short while: a page of downloads costs no extra queries. Only outside transactions,
# where every row seen is committed. A destroyed key is forgotten at once in this process
# and within VERSION_CACHE_SECONDS in others. New data is always wrapped under the primary
# as the database has it now, or under a remembered primary that the inventory checks (above).
VERSION_CACHE_SECONDS = 30.0
_versions: dict[tuple[int, str, int], tuple[float, KeyEncryptionKey]] = {}
_versions_lock = threading.Lock()


def kek_version(*, tenant: Tenant, key_class: str, version: int) -> KeyEncryptionKey:
    _check_class(key_class)
    cache_key = (int(tenant.pk), key_class, version)
    now = time.monotonic()
    cacheable = not connection.in_atomic_block
    with _versions_lock:
        cached = _versions.get(cache_key) if cacheable else None
    if cached is not None and now - cached[0] < VERSION_CACHE_SECONDS:
        return cached[1]
    kek = KeyEncryptionKey.objects.filter(tenant_id=tenant.pk, key_class=key_class, version=version).first()
    if kek is None:
        raise KeyNotFound(f"firm {tenant.slug} has no {key_class} key version {version} (destroyed?)")
    if cacheable:
        with _versions_lock:
            if len(_versions) > 4096:
                _versions.clear()
            _versions[cache_key] = (now, kek)
    return kek


def _forget_versions(tenant: Tenant) -> None:
    with _versions_lock:
        for cache_key in [k for k in _versions if k[0] == tenant.pk]:
            del _versions[cache_key]


def wrap(*, tenant: Tenant, key_class: str, plaintext: bytes, context: Context) -> Wrapped:
    """Wrap a data key under the firm's primary KEK of ``key_class``."""
    return wrap_many(tenant=tenant, key_class=key_class, items=[(plaintext, context)])[0]


def wrap_many(
    *, tenant: Tenant, key_class: str, items: Sequence[tuple[bytes, Context]], cached: bool = False
) -> list[Wrapped]:
    """Wrap several data keys under the same primary KEK (one key lookup, for bulk imports).

    ``cached``: under this process's remembered primary (see ``STALE_PRIMARY``), for
    callers whose rows are checked by the database; a refusal from the key service
    under a remembered key is retried once under the primary looked up afresh.
    """
    if not cached:
        return _wrap_under(kek_primary(tenant=tenant, key_class=key_class), items)
    kek, remembered = _kek_primary_remembered(tenant=tenant, key_class=key_class)
    try:
        return _wrap_under(kek, items)
    except KmsError:
        if not remembered:
            raise
    primary_forget(tenant=tenant)  # e.g. destroyed and provisioned again since: look it up
    return _wrap_under(_kek_primary_remembered(tenant=tenant, key_class=key_class)[0], items)


def _wrap_under(kek: KeyEncryptionKey, items: Sequence[tuple[bytes, Context]]) -> list[Wrapped]:
    provider, ref = provider_for(kek.provider), _ref(kek)
    return [Wrapped(kek.version, provider.wrap(ref, plaintext, context)) for plaintext, context in items]


def unwrap(*, tenant: Tenant, key_class: str, wrapped: Wrapped, context: Context) -> bytes:
    kek = kek_version(tenant=tenant, key_class=key_class, version=wrapped.kek_version)
    return provider_for(kek.provider).unwrap(_ref(kek), wrapped.blob, context)


def rewrap(*, tenant: Tenant, key_class: str, wrapped: Wrapped, context: Context) -> Wrapped:
    """The same data key, wrapped under the current primary KEK (unchanged when already there)."""
    primary = kek_primary(tenant=tenant, key_class=key_class)
    if wrapped.kek_version == primary.version:
        return wrapped
    plaintext = unwrap(tenant=tenant, key_class=key_class, wrapped=wrapped, context=context)
    return Wrapped(primary.version, provider_for(primary.provider).wrap(_ref(primary), plaintext, context))


def kek_rotate(*, tenant: Tenant, key_class: str, provider: str) -> KeyEncryptionKey:
    """A new primary KEK version for ``key_class``; older versions stay to unwrap what is not yet re-wrapped."""
    _check_class(key_class)
    with transaction.atomic():
        current = list(KeyEncryptionKey.objects.select_for_update().filter(tenant_id=tenant.pk, key_class=key_class))
        if not current:
            raise KeyNotFound(f"firm {tenant.slug} has no {key_class} key to rotate")
        KeyEncryptionKey.objects.filter(pk__in=[k.pk for k in current]).update(is_primary=False)
        primary_forget(tenant=tenant)
        version = max(k.version for k in current) + 1
        return _create_version(tenant=tenant, key_class=key_class, version=version, provider_name=provider)


def keks_destroy(*, tenant: Tenant, key_classes: Iterable[str] = KEY_CLASSES) -> list[KeyEncryptionKey]:
    """Crypto-shred: destroy every version of the given classes' KEKs (and the field keys they wrap).

    With AWS KMS the keys are scheduled for deletion (KMS refuses to use them
    from now on); with the local provider the sealed keys are deleted.
    Returns the destroyed keys (their ids, for the operator's record).
    """
    from kms.fieldkeys import field_keys_forget

    classes = list(key_classes)
    for key_class in classes:
        _check_class(key_class)
    keks = list(KeyEncryptionKey.objects.filter(tenant_id=tenant.pk, key_class__in=classes))
    _forget_versions(tenant)
    for kek in keks:
        provider_for(kek.provider).destroy(_ref(kek))
    with transaction.atomic():
        KeyEncryptionKey.objects.filter(pk__in=[k.pk for k in keks]).delete()
        tenant.field_keys.filter(key_class__in=classes).delete()
    field_keys_forget(tenant=tenant)
    _forget_versions(tenant)
    primary_forget(tenant=tenant)
    return keks
