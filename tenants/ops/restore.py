"""`portico restore`: bring a backup (``tenants.ops.backup``) back into this database, then prove it.

A whole-database backup restores into an empty database. A firm's backup restores into a
database that serves other firms or none (its control plane is migrated first when empty):
the firm must not exist there yet (same slug, schema or domain); its control-plane rows
get new ids, which nothing in the firm's schema refers to (keys and files are bound to the
firm's slug). Then every restored firm is checked against the figures the backup recorded:
same rows, audit head, ledger balances, three-way reconciliations and file inventory;
the audit chain verifies against its signed anchors and journal; every file decrypts to
its recorded SHA-256. Any difference makes the restore fail loudly (exit 1), and a firm
whose restore fails half-way is removed again.

Keys come from where they always live: KMS in the firm's region (AWS), or the master key
(``PORTICO_MASTER_KEY``) that sealed the KEKs; the backup's own key from the platform key.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.core import serializers
from django.db import connection, transaction
from django_tenants.utils import schema_exists
from psycopg import sql

from core.audit.actions import AuditAction
from core.audit.services import audit_record
from kms.fieldkeys import field_keys_forget
from kms.keys import primary_forget
from kms.models import SigningKey
from tenants.models import Domain, Tenant
from tenants.ops.firm_state import Verification, verify_restored
from tenants.ops.pgtools import libpq_env, tool
from tenants.ops.sealed import SectionReader, sealed_reader
from tenants.schema_check import forget_verified, schema_problems
from tenants.schema_state import expected_migrations

CHUNK = 1 << 20


class RestoreError(RuntimeError):
    pass


@dataclass
class RestoreResult:
    kind: str
    backup_id: str
    created: str
    firms: dict[str, Verification] = field(default_factory=dict)
    migrated: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(verification.ok for verification in self.firms.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "kind": self.kind,
            "backup_id": self.backup_id,
            "created": self.created,
            "migrated_after_restore": self.migrated,
            "firms": {slug: verification.as_dict() for slug, verification in self.firms.items()},
            "seconds": round(self.seconds, 2),
        }


def _public_is_migrated() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('public.tenants_tenant') IS NOT NULL")
        return bool(cursor.fetchone()[0])


def _pg_restore(dump: Any, *, list_only: bool = False) -> None:
    params = connection.get_connection_params()
    argv = [str(tool("pg_restore"))]
    if list_only:
        argv.append("--list")
    else:
        argv += [
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={params['dbname']}",
        ]
    process = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=libpq_env(params)
    )
    assert process.stdin is not None
    assert process.stderr is not None
    try:
        shutil.copyfileobj(dump, process.stdin, CHUNK)
    except BrokenPipeError:  # pg_restore stopped reading: its own message says why
        pass
    finally:
        process.stdin.close()
    errors = process.stderr.read().decode(errors="replace").strip()
    if process.wait() == 0 and isinstance(dump, _Drained):
        dump.finish()
    if process.returncode != 0:
        raise RestoreError(f"pg_restore failed: {errors.splitlines()[-1] if errors else process.returncode}")


class _Drained:
    """The dump for pg_restore, read to its very end afterwards: the last segment is authenticated at EOF."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream

    def read(self, size: int = -1) -> bytes:
        return self._stream.read(size)

    def finish(self) -> None:
        while self._stream.read(CHUNK):
            pass


def _objects(rows: list[dict[str, Any]]) -> list[Any]:
    return list(serializers.deserialize("python", rows))


def _insert_control_plane(control: dict[str, list[dict[str, Any]]]) -> Tenant:
    """The firm's public rows, under new ids; signing keys only if this database lacks them."""
    with transaction.atomic():
        [firm] = _objects(control["tenant"])
        firm.object.pk = None
        firm.save()
        tenant: Tenant = firm.object
        for part in ("domains", "key_encryption_keys", "field_keys", "audit_anchors"):
            for row in _objects(control[part]):
                row.object.pk = None
                row.object.tenant_id = tenant.pk
                row.save()
        has_active = SigningKey.objects.filter(is_active=True).exists()
        for row in _objects(control["signing_keys"]):
            if SigningKey.objects.filter(key_id=row.object.key_id).exists():
                continue
            row.object.pk = None
            row.object.is_active = row.object.is_active and not has_active
            has_active = has_active or row.object.is_active
            row.save()
    return tenant


def _refuse_collisions(manifest: dict[str, Any], control: dict[str, list[dict[str, Any]]]) -> None:
    slug, schema = manifest["slug"], manifest["schema"]
    if Tenant.objects.filter(slug=slug).exists() or schema_exists(schema):
        raise RestoreError(f"firm {slug!r} already exists in this database: restore into another database")
    domains = [row["fields"]["domain"] for row in control["domains"]]
    taken = list(Domain.objects.filter(domain__in=domains).values_list("domain", flat=True))
    if taken:
        raise RestoreError(f"domain {taken[0]!r} already routes to another firm here")
    newer = set(map(tuple, manifest["migrations"])) - expected_migrations()
    if newer:
        app, name = sorted(newer)[0]
        raise RestoreError(f"the backup is from a newer Portico (migration {app}.{name} is unknown here)")


def _drop_schema(schema: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def _restore_firm(manifest: dict[str, Any], body: SectionReader, result: RestoreResult) -> None:
    from tenants.migrate import migrate_all

    control = body.section("control_plane")
    if not _public_is_migrated():
        migrate_all()  # an empty database: public and the template first
    _refuse_collisions(manifest, control)
    _pg_restore(_Drained(body.rest("dump")))
    try:
        tenant = _insert_control_plane(control)
    except BaseException:
        _drop_schema(manifest["schema"])
        raise
    behind = expected_migrations() - set(map(tuple, manifest["migrations"]))
    if behind:
        migrate_all()  # the backup is from an older release: bring the schema up to this one
        result.migrated = True
    forget_verified()
    if problems := schema_problems(tenant.schema_name):
        raise RestoreError(f"the restored schema of {tenant.slug} is incomplete: {problems[0]}")
    expected = dict(manifest["state"])
    if result.migrated:
        expected.pop("rows")  # migrations add rows (their history) and may add tables
    _forget_cached_keys(tenant)
    result.firms[tenant.slug] = verify_restored(tenant, expected=expected)
    _audit_restore(tenant, result)


def _forget_cached_keys(tenant: Tenant) -> None:
    """This process may remember keys of a firm of the same slug from before (tests; a retried restore)."""
    field_keys_forget(tenant=tenant)
    primary_forget(tenant=tenant)


def _audit_restore(tenant: Tenant, result: RestoreResult) -> None:
    """The restored firm's log says where it came from (after the check, so the check saw the backup as it was)."""
    data = {
        "backup_id": result.backup_id,
        "kind": result.kind,
        "created": result.created,
        "verified": result.firms[tenant.slug].ok,
    }
    with tenant:
        audit_record(AuditAction.FIRM_RESTORE, data=data)


def _restore_database(manifest: dict[str, Any], body: SectionReader, result: RestoreResult) -> None:
    if _public_is_migrated():
        raise RestoreError("this database already holds Portico's tables: restore a whole database into an empty one")
    _pg_restore(_Drained(body.rest("dump")))
    forget_verified()
    for slug, state in manifest["states"].items():
        tenant = Tenant.objects.get(slug=slug)
        _forget_cached_keys(tenant)
        result.firms[slug] = verify_restored(tenant, expected=state)
        _audit_restore(tenant, result)


def restore(*, path: Path) -> RestoreResult:
    started = time.monotonic()
    with path.open("rb") as source, sealed_reader(source) as (header, body):
        manifest = body.section("manifest")
        result = RestoreResult(kind=header["kind"], backup_id=header["backup_id"], created=header["created"])
        if header["kind"] == "firm":
            _restore_firm(manifest, body, result)
        elif header["kind"] == "database":
            _restore_database(manifest, body, result)
        else:
            raise RestoreError(f"unknown kind of backup {header['kind']!r}")
    result.seconds = time.monotonic() - started
    return result


def check_backup(*, path: Path) -> dict[str, Any]:
    """Read a backup end to end without restoring: the key unseals, every segment authenticates, the dump parses."""
    with path.open("rb") as source, sealed_reader(source) as (header, body):
        manifest = body.section("manifest")
        if header["kind"] == "firm":
            body.section("control_plane")
        dump = body.rest("dump")
        _pg_restore(dump, list_only=True)
        while dump.read(CHUNK):  # pg_restore --list reads the table of contents only: authenticate the rest
            pass
    return {"ok": True, **{key: header[key] for key in ("kind", "backup_id", "created")}, "slug": manifest.get("slug")}
