"""The firm directory on the control plane, its transactional outbox, and delivery to the cells.

Every write to a ``FirmDirectory`` row (create, update, removal) bumps its version
and writes a ``DirectoryOutbox`` row in the same transaction on the control-plane
database (``tenants.control``). Delivery (``directory_deliver``, run by each cell's
worker on a schedule and right after an onboarding) reads the pending rows *of one
cell* and applies each to that cell's read-only copy (``DirectoryCopy``, in the
cell's public schema), then marks it delivered: at least once. Applying is
idempotent: a row whose version the copy already has (a redelivery after a crash
between applying and marking) changes nothing. A cell is only ever sent its own
firms: delivery selects by cell, and applying refuses an entry of another cell.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from tenants.control import control_alias
from tenants.models import DirectoryCopy, DirectoryOutbox, FirmDirectory

logger = logging.getLogger(__name__)

ENTRY_FIELDS = ("slug", "region", "cell", "status", "plan", "domains")


class DirectoryConflict(Exception):
    """The slug is already in the directory (a firm of that name exists in some cell)."""


class WrongCell(Exception):
    """A directory entry was about to be applied to a cell that does not hold the firm."""


def _entry(row: FirmDirectory) -> dict[str, Any]:
    return {field: getattr(row, field) for field in ENTRY_FIELDS}


def _emit(row: FirmDirectory, *, removed: bool = False) -> None:
    entry = {"slug": row.slug, "cell": row.cell, "removed": True} if removed else _entry(row)
    DirectoryOutbox.objects.using(control_alias()).create(
        slug=row.slug, cell=row.cell, version=row.version, entry=entry
    )


def directory_create(*, slug: str, region: str, cell: str, plan: str, domains: list[str]) -> FirmDirectory:
    """A new firm's entry (status ``provisioning``), with its outbox row; refused when the slug is taken."""
    try:
        with transaction.atomic(using=control_alias()):
            row = FirmDirectory.objects.using(control_alias()).create(
                slug=slug, region=region, cell=cell, plan=plan, domains=sorted(domains)
            )
            _emit(row)
    except IntegrityError:
        raise DirectoryConflict(f"a firm with slug {slug!r} already exists") from None
    return row


def directory_update(slug: str, **changes: Any) -> FirmDirectory:
    """Change a firm's entry (status, plan, domains): a new version and its outbox row, in one transaction."""
    unknown = set(changes) - {"status", "plan", "domains"}
    if unknown:
        raise ValueError(f"not a directory field to change: {', '.join(sorted(unknown))}")
    with transaction.atomic(using=control_alias()):
        row = FirmDirectory.objects.using(control_alias()).select_for_update().get(slug=slug)
        for field, value in changes.items():
            setattr(row, field, sorted(value) if field == "domains" else value)
        row.version += 1
        row.save(using=control_alias())
        _emit(row)
    return row


def directory_discard(slug: str) -> None:
    """Take a firm out of the directory (an onboarding compensated, an offboarding done).

    Outbox rows not yet delivered go with it; if the cell has already been sent a
    version, a removal is written for it, so the cell's copy follows.
    """
    with transaction.atomic(using=control_alias()):
        row = FirmDirectory.objects.using(control_alias()).select_for_update().filter(slug=slug).first()
        if row is None:
            return
        outbox = DirectoryOutbox.objects.using(control_alias()).filter(slug=slug)
        outbox.filter(delivered__isnull=True).delete()
        if outbox.exists():
            row.version += 1
            _emit(row, removed=True)
        row.delete()


def directory_get(slug: str) -> FirmDirectory | None:
    return FirmDirectory.objects.using(control_alias()).filter(slug=slug).first()


def directory_entries() -> list[FirmDirectory]:
    return list(FirmDirectory.objects.using(control_alias()).order_by("slug"))


def entry_apply(*, version: int, entry: dict[str, Any], cell: str, using: str = "default") -> bool:
    """Apply one directory change to cell ``cell``'s copy (database alias ``using``); False when already applied."""
    if entry.get("cell") != cell:
        raise WrongCell(f"directory entry of {entry.get('slug')!r} is for cell {entry.get('cell')!r}, not {cell!r}")
    with transaction.atomic(using=using):
        copies = DirectoryCopy.objects.using(using)
        current = copies.select_for_update().filter(slug=entry["slug"]).first()
        if current is not None and current.version >= version:
            return False
        values: dict[str, Any] = {"version": version, "applied": timezone.now(), "cell": cell}
        if entry.get("removed"):
            values["removed"] = True
        else:
            values.update({field: entry[field] for field in ENTRY_FIELDS if field not in ("slug", "cell")})
            values["removed"] = False
        if current is None:
            values.setdefault("region", "")
            values.setdefault("status", "")
            values.setdefault("plan", "")
            copies.create(slug=entry["slug"], **values)
        else:
            copies.filter(pk=current.pk).update(**values)
    return True


@dataclass
class Delivered:
    applied: int = 0
    skipped: int = 0  # already applied (a redelivery)


def directory_deliver(cell: str, *, using: str = "default", limit: int = 1000) -> Delivered:
    """Deliver cell ``cell``'s pending outbox rows to its copy (alias ``using``), oldest first; each marked after.

    A crash between applying and marking delivers the row again next time, and
    applying it again changes nothing.
    """
    outbox = DirectoryOutbox.objects.using(control_alias())
    pending = list(outbox.filter(cell=cell, delivered__isnull=True).order_by("id")[:limit])
    done = Delivered()
    for row in pending:
        if entry_apply(version=row.version, entry=row.entry, cell=cell, using=using):
            done.applied += 1
        else:
            done.skipped += 1
        outbox.filter(pk=row.pk).update(delivered=timezone.now())
    return done
