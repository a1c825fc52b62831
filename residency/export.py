"""A complete, decryptable archive of one firm: every row of its schema and every file, in plaintext.

``firm_export(tenant=..., out=path)`` writes a tar archive (gzip-compressed
when ``out`` ends in ``.gz``/``.tgz``)::

    manifest.json          firm, time, per-table row counts, each file's size and SHA-256
    rows/<table>.jsonl     one JSON object per row (encrypted fields decrypted,
                           binary values as {"$base64": ...})
    files/<object name>    each stored file, decrypted

Rows are read in one repeatable-read snapshot and streamed (server-side
cursor); files stream through decryption into the archive and their SHA-256
is checked against the inventory on the way. The archive appears at ``out``
only when complete (written beside it as ``.partial``, then renamed).
"""

from __future__ import annotations

import base64
import datetime
import decimal
import hashlib
import io
import json
import os
import tarfile
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from django.apps import apps
from django.db import connection, transaction
from django.utils import timezone
from psycopg import sql

from kms.fields import EncryptedField
from residency.errors import ResidencyError
from residency.models import StoredObject
from residency.storage import client_files
from tenants.models import Tenant

if TYPE_CHECKING:
    from _typeshed import SupportsRead

FORMAT = "portico-export/1"
Progress = Callable[[str], None]


def _quiet(message: str) -> None:
    pass


class ExportError(ResidencyError):
    pass


@dataclass
class ExportReport:
    path: Path
    tables: dict[str, int] = field(default_factory=dict)
    files: int = 0
    file_bytes: int = 0
    archive_sha256: str = ""
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


def _json_value(value: Any) -> Any:
    if isinstance(value, memoryview | bytes | bytearray):
        return {"$base64": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    return value


def schema_tables(schema: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = %s AND table_type = 'BASE TABLE' ORDER BY table_name",
            [schema],
        )
        return [row[0] for row in cursor.fetchall()]


def _encrypted_columns(table: str) -> dict[str, EncryptedField]:
    for model in apps.get_models():
        if model._meta.db_table == table:
            return {str(f.column): f for f in model._meta.concrete_fields if isinstance(f, EncryptedField)}
    return {}


def _add_bytes(archive: tarfile.TarFile, name: str, data: SupportsRead[bytes], size: int) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, int(time.time()), 0o600
    archive.addfile(info, data)


def _export_table(archive: tarfile.TarFile, tenant: Tenant, table: str) -> int:
    encrypted = _encrypted_columns(table)
    count = 0
    with tempfile.SpooledTemporaryFile(max_size=8 << 20) as lines:
        with connection.chunked_cursor() as cursor:
            cursor.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(tenant.schema_name, table)))
            columns = [column[0] for column in cursor.description]
            while rows := cursor.fetchmany(500):
                for row in rows:
                    record = {}
                    for column, value in zip(columns, row, strict=True):
                        if column in encrypted and value is not None:
                            value = encrypted[column].from_db_value(value, None, connection)
                        record[column] = _json_value(value)
                    lines.write(json.dumps(record, ensure_ascii=False, sort_keys=True).encode() + b"\n")
                    count += 1
        size = lines.tell()
        lines.seek(0)
        _add_bytes(archive, f"rows/{table}.jsonl", lines, size)
    return count


class _Hashing:
    """Reads through, hashing what passes (the tar writer pulls exactly ``size`` bytes)."""

    def __init__(self, source: IO[bytes]) -> None:
        self.source, self.digest = source, hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size)
        self.digest.update(data)
        return data


def _export_files(archive: tarfile.TarFile, tenant: Tenant, report: ExportReport, progress: Progress) -> list[Any]:
    listed = []
    records = list(StoredObject.objects.order_by("name").values("name", "size", "sha256", "key_class"))
    for index, record in enumerate(records, start=1):
        opened = client_files.open(record["name"])
        try:
            hashing = _Hashing(opened)
            _add_bytes(archive, f"files/{record['name']}", hashing, record["size"])
        finally:
            opened.close()
        if hashing.digest.hexdigest() != record["sha256"]:
            raise ExportError(f"{tenant.slug}/{record['name']}: decrypted content does not match its recorded SHA-256")
        listed.append({**record, "path": f"files/{record['name']}"})
        report.files += 1
        report.file_bytes += record["size"]
        progress(f"files: {index}/{len(records)} {record['name']}")
    return listed


def _manifest(tenant: Tenant, report: ExportReport, files: list[Any]) -> bytes:
    manifest = {
        "format": FORMAT,
        "exported_at": timezone.now().isoformat(),
        "firm": {
            "slug": tenant.slug,
            "name": tenant.name,
            "region": tenant.region,
            "plan": tenant.plan,
            "status": tenant.status,
            "schema": tenant.schema_name,
            "created": tenant.created.isoformat(),
        },
        "tables": report.tables,
        "row_count": report.rows,
        "files": files,
        "file_count": report.files,
        "file_bytes": report.file_bytes,
    }
    return json.dumps(manifest, indent=2, sort_keys=True).encode()


def check_target(out: Path) -> None:
    """Refuse an archive path that exists or whose folder does not."""
    if out.exists():
        raise ExportError(f"{out} already exists; choose another path")
    if not out.parent.is_dir():
        raise ExportError(f"{out.parent} is not a directory")


def firm_export(*, tenant: Tenant, out: Path, progress: Progress = _quiet) -> ExportReport:
    out = Path(out)
    check_target(out)
    started = time.monotonic()
    report = ExportReport(path=out)
    partial = out.with_name(out.name + ".partial")
    compressed = out.name.endswith((".gz", ".tgz"))
    try:
        with open(partial, "xb") as raw:
            archive_kwargs: dict[str, Any] = {"compresslevel": 6} if compressed else {}
            with tarfile.open(fileobj=raw, mode="w:gz" if compressed else "w", **archive_kwargs) as archive:
                _write(archive, tenant, report, progress)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    digest = hashlib.sha256()
    with open(out, "rb") as written:
        while chunk := written.read(1 << 20):
            digest.update(chunk)
    report.archive_sha256 = digest.hexdigest()
    report.seconds = time.monotonic() - started
    return report


def _write(archive: tarfile.TarFile, tenant: Tenant, report: ExportReport, progress: Progress) -> None:
    snapshot = not connection.in_atomic_block  # impossible inside a caller's transaction (tests)
    with tenant:
        if snapshot:
            connection.cursor().close()  # django-tenants sets search_path now, before the transaction starts
        with transaction.atomic():
            if snapshot:  # every table read at the same moment
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            tables = schema_tables(tenant.schema_name)
            for index, table in enumerate(tables, start=1):
                report.tables[table] = _export_table(archive, tenant, table)
                progress(f"rows: {index}/{len(tables)} {table} ({report.tables[table]})")
            files = _export_files(archive, tenant, report, progress)
    manifest = _manifest(tenant, report, files)
    _add_bytes(archive, "manifest.json", io.BytesIO(manifest), len(manifest))
