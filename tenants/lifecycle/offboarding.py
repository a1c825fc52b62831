"""Offboarding a firm: export everything, then delete its schema, storage and keys (crypto-shredding).

Orchestrates residency (the export, the firm's storage) and kms (the keys),
then the control plane's own rows.

Order, each step safe to repeat if a run is interrupted:

1. status ``offboarding`` (the firm's site and API stop serving at once);
2. export (``residency.export``) while the schema still exists;
3. drop the schema (rows, including the wrapped data keys of every file);
4. delete the storage: every object version, then the bucket or directory;
5. destroy every key-encryption key of every class (AWS: scheduled deletion;
   local: the sealed key deleted): any ciphertext kept elsewhere, in a backup or
   a copied bucket, can no longer be decrypted;
6. retire its audit anchor journal (renamed, kept) and delete the firm's control-plane rows
   (tenant, domains).

An erasure request for one client is the narrower tool (``portico tenants
erase-client``, ``tenants.lifecycle.erasure``): it deletes that client's files with their
data keys and blanks their encrypted fields; the firm's ``client`` KEK class is
destroyed only here, at offboarding, and ``retention`` keys survive an erasure,
so records the law requires the firm to keep still decrypt.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_exists
from psycopg import sql

from core.audit.journal import journal_retire
from kms.keys import keks_destroy
from residency.backends import placement
from residency.export import ExportReport, check_target, firm_export
from tenants.db import tenant_connection
from tenants.directory import directory_discard
from tenants.models import Tenant
from tenants.services import directory_follow

Progress = Callable[[str], None]


def _quiet(message: str) -> None:
    pass


@dataclass
class OffboardReport:
    slug: str
    export: ExportReport | None
    storage_location: str = ""
    objects_deleted: int = 0
    schema_dropped: bool = False
    keys_destroyed: list[str] = field(default_factory=list)


def firm_offboard(*, tenant: Tenant, out: Path, progress: Progress = _quiet) -> OffboardReport:
    if schema_exists(tenant.schema_name):
        check_target(Path(out))  # before anything changes
    if tenant.status != Tenant.Status.OFFBOARDING:
        tenant.status = Tenant.Status.OFFBOARDING
        tenant.status_changed = timezone.now()
        tenant.save(update_fields=["status", "status_changed"])
        directory_follow(slug=tenant.slug, status=tenant.status)
    progress(f"{tenant.slug}: status offboarding")

    export = None
    if schema_exists(tenant.schema_name):
        export = firm_export(tenant=tenant, out=out, progress=progress)
        progress(f"exported {export.rows} rows and {export.files} files to {export.path}")
        tenant_connection().set_schema_to_public()
        with connection.cursor() as cursor:
            # Deferred foreign-key checks still pending in an enclosing transaction would block the DROP.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(tenant.schema_name)))
    report = OffboardReport(slug=tenant.slug, export=export, schema_dropped=True)
    progress(f"schema {tenant.schema_name} dropped")

    place = placement(tenant)
    report.storage_location = place.location
    report.objects_deleted = place.destroy()
    progress(f"storage {place.location} deleted ({report.objects_deleted} object versions)")

    report.keys_destroyed = [kek.key_id for kek in keks_destroy(tenant=tenant)]
    progress(f"{len(report.keys_destroyed)} keys destroyed")

    retired = journal_retire(schema=tenant.schema_name)  # the slug may be used again: its journal starts afresh
    if retired:
        progress(f"anchor journal kept as {retired}")
    tenant.delete(force_drop=False)
    directory_discard(tenant.slug)  # the control plane forgets the firm too (its cell's copy follows)
    return report
