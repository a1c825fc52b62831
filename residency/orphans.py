"""The orphan sweep: ciphertext in a firm's storage that has no ``StoredObject`` row is deleted (issue 18 item 6).

Every object in a firm's directory or bucket is written by ``FirmStorage``, which
records it in the firm's schema, so an object without a row is the remains of a
write whose transaction never committed and that ``storage_atomic`` could not
undo (the process was killed, the storage was unreachable at the time, or the
write ran inside a plain ``transaction.atomic`` that rolled back). Its data key
went with the row: nobody can read it, but it still occupies the firm's region
and its erasure record should not have to mention it.

An object is deleted only when it is older than the grace period
(``PORTICO_ORPHAN_GRACE_SECONDS``, a day), so an upload whose row is about to
commit is never touched; on S3 each stored version is judged by itself (a row
names the exact version it points at). Local temporary files of writes that
never finished (``*.partial``) go after the same period. Each run that deletes
something is audited by the caller (``storage.orphans_deleted``: residency sits below
core's audit log). Scheduled for every firm by ``core.tasks.sweep_orphans_in_every_firm``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice

from django.utils import timezone

from residency.backends import Listed, placement
from residency.models import StoredObject
from tenants.models import Tenant

logger = logging.getLogger(__name__)

BATCH = 500


@dataclass
class Sweep:
    deleted: list[str] = field(default_factory=list)  # "name" or "name@version"
    deleted_bytes: int = 0
    young: int = 0  # objects without a row still inside the grace period
    location: str = ""


def orphans_sweep(*, tenant: Tenant, grace: timedelta, now: datetime | None = None) -> Sweep:
    """Delete the firm's stored objects that have no row and are older than ``grace``."""
    cutoff = (now or timezone.now()) - grace
    place = placement(tenant)
    result = Sweep()
    with tenant:
        for batch in _batches(place.listing()):
            recorded = _recorded(item.name for item in batch if not item.partial)
            for item in batch:
                if not item.partial and _has_row(item, recorded):
                    continue
                if item.modified > cutoff:
                    result.young += 1
                    continue
                place.discard(item)
                result.deleted.append(f"{item.name}@{item.version_id}" if item.version_id else item.name)
                result.deleted_bytes += item.size
        if result.deleted:
            logger.warning("deleted %d objects without a row from %s", len(result.deleted), place.location)
    result.location = place.location
    return result


def _batches(items: Iterable[Listed]) -> Iterator[list[Listed]]:
    iterator = iter(items)
    while batch := list(islice(iterator, BATCH)):
        yield batch


def _recorded(names: Iterable[str]) -> dict[str, set[str]]:
    """The version ids recorded for each of ``names`` (a local row records "")."""
    recorded: dict[str, set[str]] = {}
    rows = StoredObject.objects.filter(name__in=set(names)).values_list("name", "version_id")
    for name, version_id in rows:
        recorded.setdefault(name, set()).add(version_id)
    return recorded


def _has_row(item: Listed, recorded: dict[str, set[str]]) -> bool:
    versions = recorded.get(item.name)
    if versions is None:
        return False
    # A row without a version (a bucket that did not version the write) vouches for the key as a whole.
    return item.version_id in versions or "" in versions
