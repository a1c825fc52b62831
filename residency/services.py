"""Writes on a firm's stored objects that are not a single file: re-wrapping data keys after rotation."""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction

from kms.files import file_key_rewrap
from kms.keys import KEY_CLASSES, Wrapped, kek_primary
from residency.models import StoredObject
from tenants.models import Tenant

Progress = Callable[[int, int], None]
BATCH = 200


def _quiet(done: int, total: int) -> None:
    pass


def objects_rewrap(*, tenant: Tenant, progress: Progress = _quiet) -> int:
    """Re-wrap every object's data key under the primary KEK of its class; files are not touched.

    Runs inside the firm's schema; commits every ``BATCH`` rows, so an
    interrupted run resumes where it stopped. Returns how many keys were re-wrapped.
    """
    primaries = {key_class: kek_primary(tenant=tenant, key_class=key_class).version for key_class in KEY_CLASSES}
    with tenant:
        stale = StoredObject.objects.none()
        for key_class, version in primaries.items():
            stale = stale | StoredObject.objects.filter(key_class=key_class).exclude(kek_version=version)
        ids = list(stale.order_by("pk").values_list("pk", flat=True))
        total, done = len(ids), 0
        progress(0, total)
        for start in range(0, total, BATCH):
            with transaction.atomic():
                batch = list(StoredObject.objects.select_for_update().filter(pk__in=ids[start : start + BATCH]))
                for record in batch:
                    new = file_key_rewrap(
                        tenant=tenant,
                        key_class=record.key_class,
                        name=record.name,
                        wrapped=Wrapped(record.kek_version, bytes(record.wrapped_data_key)),
                    )
                    record.kek_version, record.wrapped_data_key = new.kek_version, new.blob
                StoredObject.objects.bulk_update(batch, ["kek_version", "wrapped_data_key"])
            done += len(batch)
            progress(done, total)
    return total
