"""`portico backup`: the whole database, or one firm on its own, as an encrypted file that restores.

A firm's backup holds, read in one snapshot (``pg_export_snapshot``, shared with pg_dump):

- its schema, dumped by pg_dump (PostgreSQL's custom format): every row, sequence and trigger;
- its rows of the control plane: the firm and its domains, its key-encryption keys (with AWS
  KMS a key's ARN; with the local provider the key sealed by the master key) and field keys
  (wrapped), its signed audit anchors, and the platform's public signing keys they need;
- the figures a restore must find again (``tenants.ops.firm_state``).

No key that decrypts anything is in a backup: KEKs stay in KMS (or need the master key),
and the file's own key is sealed by the platform key (``tenants.ops.sealed``). The files
themselves are not in it either: they stay in the firm's versioned, region-pinned storage,
which the restored rows point at. The whole-database backup is pg_dump of everything.

Files appear at ``out`` only when complete (``.partial`` first, then renamed), mode 0600.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core import serializers
from django.db import connection, transaction
from django.utils import timezone

from core.audit.actions import AuditAction
from core.audit.services import audit_record
from kms.models import FieldKey, KeyEncryptionKey, SigningKey
from tenants.models import AuditAnchor, Domain, Tenant
from tenants.ops.firm_state import firm_state
from tenants.ops.pgtools import libpq_env, server_major, tool
from tenants.ops.sealed import sealed_writer
from tenants.schema_state import applied_migrations

CHUNK = 1 << 20


class BackupError(RuntimeError):
    pass


@dataclass
class BackupResult:
    path: Path
    kind: str
    backup_id: str
    slug: str | None = None
    bytes: int = 0
    seconds: float = 0.0
    state: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "kind": self.kind,
            "backup_id": self.backup_id,
            "slug": self.slug,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 2),
        }


def _serialized(queryset: Any) -> list[dict[str, Any]]:
    # Django's "python" form, not its JSON: the JSON encoder cuts datetimes to milliseconds, and an
    # anchor's signature covers its time to the microsecond. Binary fields come as base64 text.
    rows: list[dict[str, Any]] = json.loads(json.dumps(serializers.serialize("python", queryset), default=str))
    return rows


def control_plane_rows(tenant: Tenant) -> dict[str, list[dict[str, Any]]]:
    """The firm's rows in the public schema (see the module docstring), as Django's serializer writes them."""
    anchors = AuditAnchor.objects.filter(tenant=tenant).order_by("sequence", "id")
    key_ids = set(anchors.values_list("key_id", flat=True))
    return {
        "tenant": _serialized(Tenant.objects.filter(pk=tenant.pk)),
        "domains": _serialized(Domain.objects.filter(tenant=tenant).order_by("pk")),
        "key_encryption_keys": _serialized(KeyEncryptionKey.objects.filter(tenant=tenant).order_by("pk")),
        "field_keys": _serialized(FieldKey.objects.filter(tenant=tenant).order_by("pk")),
        "audit_anchors": _serialized(anchors),
        "signing_keys": _serialized(SigningKey.objects.filter(key_id__in=key_ids).order_by("pk")),
    }


def _snapshot() -> str:
    """Start this transaction's snapshot (repeatable read) and export it for pg_dump."""
    with connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute("SELECT pg_export_snapshot()")
        return str(cursor.fetchone()[0])


def _pg_dump_into(stream: Any, *, snapshot: str, schema: str | None) -> None:
    argv = [str(tool("pg_dump")), "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}"]
    if schema:
        argv.append(f'--schema="{schema}"')  # quoted: the exact name, not a pattern
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=libpq_env())
    assert process.stdout is not None
    assert process.stderr is not None
    shutil.copyfileobj(process.stdout, stream, CHUNK)
    errors = process.stderr.read().decode(errors="replace")
    if process.wait() != 0:
        raise BackupError(
            f"pg_dump failed: {errors.strip().splitlines()[-1] if errors.strip() else process.returncode}"
        )


def _header(kind: str, backup_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "format": 1,
        "kind": kind,
        "backup_id": backup_id,
        "created": timezone.now().isoformat(),
        "server_major": server_major(),
        "base_domain": settings.PORTICO_BASE_DOMAIN,
        **extra,
    }


def _write(out: Path, header: dict[str, Any], sections: dict[str, Any], *, snapshot: str, schema: str | None) -> int:
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as sink, sealed_writer(sink, header) as body:
            for name, data in sections.items():
                body.section(name, data)
            _pg_dump_into(body.rest("dump"), snapshot=snapshot, schema=schema)
        partial.replace(out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return out.stat().st_size


def _audit_backup(tenant: Tenant, *, backup_id: str, kind: str, out: Path) -> None:
    """Each firm whose data a backup holds says so in its own log (after the dump: the backup does not hold it)."""
    with tenant:
        audit_record(AuditAction.FIRM_BACKUP, data={"backup_id": backup_id, "kind": kind, "file": out.name})


def backup_firm(*, tenant: Tenant, out: Path) -> BackupResult:
    started = time.monotonic()
    backup_id = uuid.uuid4().hex
    with transaction.atomic():
        snapshot = _snapshot()
        control = control_plane_rows(tenant)
        state = firm_state(tenant)
        migrations = sorted(applied_migrations([tenant.schema_name])[tenant.schema_name])
        header = _header("firm", backup_id, slug=tenant.slug, schema=tenant.schema_name, region=tenant.region)
        manifest = {**header, "migrations": migrations, "state": state}
        size = _write(
            out,
            header,
            {"manifest": manifest, "control_plane": control},
            snapshot=snapshot,
            schema=tenant.schema_name,
        )
    _audit_backup(tenant, backup_id=backup_id, kind="firm", out=out)
    return BackupResult(
        path=out,
        kind="firm",
        backup_id=backup_id,
        slug=tenant.slug,
        bytes=size,
        seconds=time.monotonic() - started,
        state=state,
    )


def backup_database(*, out: Path) -> BackupResult:
    started = time.monotonic()
    backup_id = uuid.uuid4().hex
    with transaction.atomic():
        snapshot = _snapshot()
        firms = list(Tenant.objects.filter(kind=Tenant.Kind.FIRM).order_by("slug"))
        header = _header("database", backup_id, firms=[firm.slug for firm in firms])
        manifest = {**header, "states": {firm.slug: firm_state(firm) for firm in firms}}
        size = _write(out, header, {"manifest": manifest}, snapshot=snapshot, schema=None)
    for firm in firms:
        _audit_backup(firm, backup_id=backup_id, kind="database", out=out)
    return BackupResult(path=out, kind="database", backup_id=backup_id, bytes=size, seconds=time.monotonic() - started)


def backup_all(*, out_dir: Path) -> list[BackupResult]:
    """The nightly run: the whole database, then every firm on its own, named by time."""
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    results = [backup_database(out=out_dir / f"database-{stamp}.portico-backup")]
    for tenant in Tenant.objects.filter(kind=Tenant.Kind.FIRM).order_by("slug"):
        results.append(backup_firm(tenant=tenant, out=out_dir / f"firm-{tenant.slug}-{stamp}.portico-backup"))
    return results
